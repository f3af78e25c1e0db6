package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A team server pushes each stopped meeting of a deal to the CRM of the deal's owner: its recap as
// a note and each commitment as a task on the deal's CRM record. The store keeps each
// organisation's CRM (its token only sealed), each deal's CRM record, and what was pushed, so
// that a push run again updates what it made and never makes it twice. This file declares those
// records and implements them for both stores.

// CRMProvider names a CRM.
type CRMProvider string

// The CRMs a meeting can be pushed to.
const (
	CRMHubSpot    CRMProvider = "hubspot"
	CRMSalesforce CRMProvider = "salesforce"
)

// Known reports whether p is a CRM the server can push to.
func (p CRMProvider) Known() bool { return p == CRMHubSpot || p == CRMSalesforce }

// OrgCRM is an organisation's CRM, as stored.
type OrgCRM struct {
	OrgID    string
	Provider CRMProvider
	// InstanceURL is the Salesforce instance the token is for (https://acme.my.salesforce.com);
	// "" for HubSpot.
	InstanceURL string
	// SealedToken is the access token as its sealer (package crm) left it: the store never sees
	// the token itself.
	SealedToken string
	UpdatedAt   time.Time // set by the store
}

// CRMItem is one thing of a meeting pushed to one CRM record: the meeting's recap (Item
// "recap"), or a commitment's task ("commitment/" and its ID).
type CRMItem struct {
	Meeting  string
	Provider CRMProvider
	Record   string // the CRM record it is attached to
	Item     string
	// RemoteID is the CRM's ID of what was made; "" while a create is under way or was cut short.
	RemoteID string
	Digest   string    // of what was last sent, to skip sending it again
	Started  time.Time // when it was first about to be created
	Pushed   time.Time // when it was last created or updated; zero before
}

// CRMPush is what one push of a meeting to a CRM did, as a crm.push event carries it.
type CRMPush struct {
	Provider  CRMProvider `json:"provider"`
	Record    string      `json:"record"`          // the CRM record pushed to
	Created   int         `json:"created"`         // notes and tasks made
	Updated   int         `json:"updated"`         // changed
	Unchanged int         `json:"unchanged"`       // already as they are
	Failed    int         `json:"failed"`          // not pushed: Error says why
	Error     string      `json:"error,omitempty"` // the first failure, with what to do
}

func (c *CRMPush) validate(t EventType) error {
	if c == nil || !c.Provider.Known() || c.Record == "" {
		return fmt.Errorf("ledger: %w: %s needs a known provider and a record", ErrInvalidEvent, t)
	}
	return nil
}

func (c *CRMPush) texts() []string { return []string{string(c.Provider), c.Record, c.Error} }

// CRM keeps organisations' CRMs, deals' CRM records and what was pushed to them. SQLiteStore and
// PostgresStore implement it.
type CRM interface {
	// SetOrgCRM sets an organisation's CRM, replacing the one before. An unknown organisation
	// fails with ErrNotFound, an unknown provider or an empty sealed token with ErrInvalidRecord.
	SetOrgCRM(ctx context.Context, c OrgCRM) error
	// OrgCRM returns an organisation's CRM, or ErrNotFound when it has none.
	OrgCRM(ctx context.Context, orgID string) (OrgCRM, error)
	// SetDealCRM sets the CRM record a deal is pushed to; "" clears it. An unknown deal fails with
	// ErrNotFound.
	SetDealCRM(ctx context.Context, dealID, record string) error
	// DealCRM returns a deal's CRM record, or ErrNotFound when it has none.
	DealCRM(ctx context.Context, dealID string) (string, error)
	// StartCRMItem records that the item is about to be created (Started is the store's time),
	// unless it is recorded already, and returns it as stored; started reports whether this call
	// recorded it. An unknown meeting fails with ErrNotFound.
	StartCRMItem(ctx context.Context, it CRMItem) (stored CRMItem, started bool, err error)
	// FinishCRMItem records the item's RemoteID and Digest as pushed now. An item never started
	// fails with ErrNotFound.
	FinishCRMItem(ctx context.Context, it CRMItem) error
}

var (
	_ CRM = (*SQLiteStore)(nil)
	_ CRM = (*PostgresStore)(nil)
)

// SetOrgCRM implements CRM.
func (s *sqlStore) SetOrgCRM(ctx context.Context, c OrgCRM) error {
	if !c.Provider.Known() || c.SealedToken == "" {
		return fmt.Errorf("ledger: %w: an organisation's CRM needs a known provider and a token", ErrInvalidRecord)
	}
	if err := storableRecord("organisation", c.OrgID, c.OrgID, c.InstanceURL, c.SealedToken); err != nil {
		return err
	}
	what := fmt.Sprintf("set CRM of organisation %q", c.OrgID)
	err := s.updateOne(ctx, what, []string{c.OrgID}, `INSERT INTO crm_orgs (org_id, provider, instance_url, token_sealed, updated_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (org_id) DO UPDATE SET provider = excluded.provider,
		instance_url = excluded.instance_url, token_sealed = excluded.token_sealed, updated_at = excluded.updated_at`,
		c.OrgID, string(c.Provider), c.InstanceURL, c.SealedToken, s.now().UTC())
	if errors.Is(err, errForeignKeyViolation) {
		return fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	return err
}

// OrgCRM implements CRM.
func (s *sqlStore) OrgCRM(ctx context.Context, orgID string) (OrgCRM, error) {
	c := OrgCRM{OrgID: orgID}
	var updated dbTime
	err := s.row(ctx, fmt.Sprintf("CRM of organisation %q", orgID),
		`SELECT provider, instance_url, token_sealed, updated_at FROM crm_orgs WHERE org_id = ?`, []any{orgID},
		&c.Provider, &c.InstanceURL, &c.SealedToken, &updated)
	c.UpdatedAt = updated.Time
	return c, err
}

// SetDealCRM implements CRM.
func (s *sqlStore) SetDealCRM(ctx context.Context, dealID, record string) error {
	if err := storableRecord("deal", dealID, dealID, record); err != nil {
		return err
	}
	what := fmt.Sprintf("set CRM record of deal %q", dealID)
	if _, err := s.Deal(ctx, dealID); err != nil {
		return err
	}
	if record == "" {
		_, err := s.w.exec(ctx, `DELETE FROM crm_deals WHERE deal_id = ?`, dealID)
		if err != nil {
			return s.readErr(what, err)
		}
		return nil
	}
	err := s.updateOne(ctx, what, []string{dealID}, `INSERT INTO crm_deals (deal_id, record_id, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (deal_id) DO UPDATE SET record_id = excluded.record_id, updated_at = excluded.updated_at`,
		dealID, record, s.now().UTC())
	if errors.Is(err, errForeignKeyViolation) {
		return fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	return err
}

// DealCRM implements CRM.
func (s *sqlStore) DealCRM(ctx context.Context, dealID string) (string, error) {
	var record string
	err := s.row(ctx, fmt.Sprintf("CRM record of deal %q", dealID), `SELECT record_id FROM crm_deals WHERE deal_id = ?`,
		[]any{dealID}, &record)
	return record, err
}

// StartCRMItem implements CRM: one insert that leaves a recorded item as it is, then its row.
func (s *sqlStore) StartCRMItem(ctx context.Context, it CRMItem) (CRMItem, bool, error) {
	if !it.Provider.Known() || it.Record == "" || it.Item == "" {
		return CRMItem{}, false, fmt.Errorf("ledger: %w: a CRM item needs a known provider, a record and an item", ErrInvalidRecord)
	}
	if err := storableRecord("meeting", it.Meeting, it.Meeting, it.Record, it.Item); err != nil {
		return CRMItem{}, false, err
	}
	what := fmt.Sprintf("start CRM item %s of meeting %q", it.Item, it.Meeting)
	if s.closed.Load() {
		return CRMItem{}, false, fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	n, err := s.w.exec(ctx, `INSERT INTO crm_items (meeting_id, provider, record_id, item, started_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (meeting_id, provider, record_id, item) DO NOTHING`,
		it.Meeting, string(it.Provider), it.Record, it.Item, s.now().UTC())
	switch {
	case errors.Is(err, errForeignKeyViolation):
		return CRMItem{}, false, fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	case err != nil:
		return CRMItem{}, false, s.readErr(what, err)
	}
	var started dbTime
	var pushed nullDBTime
	// Read from the writer: a reader may not see the row just written yet.
	err = s.w.queryRow(ctx, `SELECT remote_id, digest, started_at, pushed_at FROM crm_items
		WHERE meeting_id = ? AND provider = ? AND record_id = ? AND item = ?`,
		it.Meeting, string(it.Provider), it.Record, it.Item).Scan(&it.RemoteID, &it.Digest, &started, &pushed)
	if err != nil {
		return CRMItem{}, false, s.readErr(what, err)
	}
	it.Started, it.Pushed = started.Time, pushed.Time
	return it, n == 1, nil
}

// FinishCRMItem implements CRM.
func (s *sqlStore) FinishCRMItem(ctx context.Context, it CRMItem) error {
	if it.RemoteID == "" {
		return fmt.Errorf("ledger: %w: a pushed CRM item needs its remote ID", ErrInvalidRecord)
	}
	if err := storableRecord("meeting", it.Meeting, it.RemoteID, it.Digest); err != nil {
		return err
	}
	return s.updateOne(ctx, fmt.Sprintf("finish CRM item %s of meeting %q", it.Item, it.Meeting),
		[]string{it.Meeting, it.Record, it.Item},
		`UPDATE crm_items SET remote_id = ?, digest = ?, pushed_at = ?
		WHERE meeting_id = ? AND provider = ? AND record_id = ? AND item = ?`,
		it.RemoteID, it.Digest, s.now().UTC(), it.Meeting, string(it.Provider), it.Record, it.Item)
}
