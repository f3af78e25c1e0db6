package team

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/crm"
	"github.com/ledgerline/ledgerline/ledger"
)

// The CRM settings of the API (docs/crm.md): an organisation's admin sets its CRM and token, and
// the record each of its deals is pushed to. A token is sealed before it reaches the store and is
// never answered back.

// CRMKeys seals organisations' CRM tokens and checks where a CRM's requests may go.
type CRMKeys interface {
	Seal(orgID, token string) (string, error)
	CheckInstance(p ledger.CRMProvider, instanceURL string) (string, error)
}

var _ CRMKeys = (*crm.Keyring)(nil)

// crmRecordPattern is what a CRM record ID may be: a HubSpot deal's number, a Salesforce
// Opportunity's 15 or 18 characters.
var crmRecordPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)

// orgCRMJSON is an organisation's CRM as the API shows it: never its token.
type orgCRMJSON struct {
	Org         string    `json:"org"`
	Provider    string    `json:"provider"`
	InstanceURL string    `json:"instance_url,omitempty"`
	TokenSet    bool      `json:"token_set"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func (s *Server) getOrgCRM(w http.ResponseWriter, r *http.Request, p principal) error {
	o, err := s.managedOrg(r, p, "id", r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.answerOrgCRM(w, r, http.StatusOK, o)
}

func (s *Server) setOrgCRM(w http.ResponseWriter, r *http.Request, p principal) error {
	var req struct {
		Provider    string `json:"provider"`
		Token       string `json:"token"`
		InstanceURL string `json:"instance_url"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	o, err := s.managedOrg(r, p, "id", r.PathValue("id"))
	if err != nil {
		return err
	}
	if s.cfg.CRM == nil {
		return failf(http.StatusServiceUnavailable, "%v", crm.ErrNoKey)
	}
	provider := ledger.CRMProvider(strings.ToLower(strings.TrimSpace(req.Provider)))
	instance, err := s.cfg.CRM.CheckInstance(provider, strings.TrimSpace(req.InstanceURL))
	if err != nil {
		return crmFailure(err)
	}
	sealed, err := s.cfg.CRM.Seal(o.ID, strings.TrimSpace(req.Token))
	if err != nil {
		return crmFailure(err)
	}
	if err := s.store.SetOrgCRM(r.Context(), ledger.OrgCRM{OrgID: o.ID, Provider: provider, InstanceURL: instance, SealedToken: sealed}); err != nil {
		return err
	}
	s.log.Info("organisation's CRM set", "org", o.ID, "crm", string(provider), "by", p.cred.ID)
	return s.answerOrgCRM(w, r, http.StatusOK, o)
}

// crmFailure answers what the keyring refused: 503 where the server has no key, else 400.
func crmFailure(err error) error {
	if errors.Is(err, crm.ErrNoKey) {
		return failf(http.StatusServiceUnavailable, "%v", err)
	}
	return failf(http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), "crm: "))
}

func (s *Server) answerOrgCRM(w http.ResponseWriter, r *http.Request, code int, o ledger.Org) error {
	c, err := s.store.OrgCRM(r.Context(), o.ID)
	if errors.Is(err, ledger.ErrNotFound) {
		return failf(http.StatusNotFound, "organisation %q has no CRM: set one with PUT /api/v1/orgs/%s/crm", o.Name, o.ID)
	}
	if err != nil {
		return err
	}
	writeJSON(w, code, orgCRMJSON{Org: o.ID, Provider: string(c.Provider), InstanceURL: c.InstanceURL, TokenSet: c.SealedToken != "",
		UpdatedAt: c.UpdatedAt})
	return nil
}

func (s *Server) setDealCRM(w http.ResponseWriter, r *http.Request, p principal) error {
	var req struct {
		Record string `json:"record"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	d, err := s.ownedDeal(r, p)
	if err != nil {
		return err
	}
	record := strings.TrimSpace(req.Record)
	if record != "" && !crmRecordPattern.MatchString(record) {
		return failf(http.StatusBadRequest, "record: give the CRM's ID of the deal (HubSpot) or Opportunity (Salesforce), letters and digits, or \"\" to push the deal nowhere")
	}
	if err := s.store.SetDealCRM(r.Context(), d.ID, record); err != nil {
		return err
	}
	s.log.Info("deal's CRM record set", "deal", d.ID, "record", record, "by", p.cred.ID)
	writeJSON(w, http.StatusOK, map[string]string{"deal": d.ID, "record": record})
	return nil
}
