package crm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// SalesforceVersion is the REST API version the Salesforce client speaks.
const SalesforceVersion = "v60.0"

// Salesforce is a Client of Salesforce's REST API: a commitment is a Task on the Opportunity
// (WhatId); the recap is a ContentNote, the notes of Lightning Experience, linked to the
// Opportunity with a ContentDocumentLink, as Salesforce documents for notes made through the API.
type Salesforce struct {
	InstanceURL string // https://acme.my.salesforce.com
	Token       string // an OAuth access token
	HTTP        *http.Client
}

var _ Client = (*Salesforce)(nil)

// sfID is what a Salesforce record ID looks like: 15 or 18 letters and digits. A record is
// checked against it before it goes into a query.
var sfID = regexp.MustCompile(`^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$`)

type sfTask struct {
	Subject      string  `json:"Subject"`
	Description  string  `json:"Description"`
	ActivityDate *string `json:"ActivityDate"` // null clears a due date taken back
	Status       string  `json:"Status"`
	Priority     string  `json:"Priority"`
	WhatID       string  `json:"WhatId,omitempty"`
}

type sfNote struct {
	Title   string `json:"Title"`
	Content string `json:"Content"` // base64 of the note's HTML
}

func (s *Salesforce) task(record string, o Object) sfTask {
	status := "Not Started"
	switch o.Status {
	case ledger.StatusDone:
		status = "Completed"
	case ledger.StatusDropped:
		status = "Deferred"
	}
	t := sfTask{Subject: o.Title, Description: strings.Join(o.Lines, "\n"), Status: status, Priority: "Normal", WhatID: record}
	if o.Due != "" {
		t.ActivityDate = &o.Due
	}
	return t
}

func (s *Salesforce) note(o Object) sfNote {
	var b strings.Builder
	for _, l := range o.Lines {
		b.WriteString("<p>" + html.EscapeString(l) + "</p>")
	}
	return sfNote{Title: o.Title, Content: base64.StdEncoding.EncodeToString([]byte(b.String()))}
}

// Create implements Client: POST sobjects/Task, or sobjects/ContentNote and then the
// ContentDocumentLink that shows it on the Opportunity.
func (s *Salesforce) Create(ctx context.Context, record string, o Object) (string, error) {
	if !sfID.MatchString(record) {
		return "", fmt.Errorf("crm: %w: %q is not a Salesforce record ID (15 or 18 letters and digits)", errRefused, record)
	}
	var made struct {
		ID string `json:"id"`
	}
	if o.Kind == Task {
		err := s.call(ctx, http.MethodPost, "sobjects/Task", s.task(record, o), &made)
		return made.ID, err
	}
	if err := s.call(ctx, http.MethodPost, "sobjects/ContentNote", s.note(o), &made); err != nil {
		return "", err
	}
	return made.ID, s.link(ctx, record, made.ID)
}

// link shows a note on the record; one linked already is no error.
func (s *Salesforce) link(ctx context.Context, record, note string) error {
	err := s.call(ctx, http.MethodPost, "sobjects/ContentDocumentLink",
		map[string]string{"ContentDocumentId": note, "LinkedEntityId": record, "ShareType": "V"}, nil)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest && strings.Contains(ae.Message, "DUPLICATE_VALUE") {
		return nil
	}
	return err
}

// Update implements Client: PATCH sobjects/Task/{id} or sobjects/ContentNote/{id}.
func (s *Salesforce) Update(ctx context.Context, record, id string, o Object) error {
	if o.Kind == Task {
		return s.call(ctx, http.MethodPatch, "sobjects/Task/"+url.PathEscape(id), s.task(record, o), nil)
	}
	return s.call(ctx, http.MethodPatch, "sobjects/ContentNote/"+url.PathEscape(id), s.note(o), nil)
}

// Find implements Client with SOQL. A Task's Description cannot be filtered on, so the record's
// tasks made since are read and the reference looked for in them; a note is found by its title
// among those made since, and linked to the record should its link not have been made.
func (s *Salesforce) Find(ctx context.Context, record string, o Object, since time.Time) (string, error) {
	if !sfID.MatchString(record) {
		return "", fmt.Errorf("crm: %w: %q is not a Salesforce record ID", errRefused, record)
	}
	after := since.UTC().Format("2006-01-02T15:04:05Z")
	q := fmt.Sprintf("SELECT Id, Description FROM Task WHERE WhatId = '%s' AND CreatedDate >= %s ORDER BY CreatedDate LIMIT 200", record, after)
	if o.Kind == Note {
		q = fmt.Sprintf("SELECT Id, Title FROM ContentNote WHERE Title = '%s' AND CreatedDate >= %s ORDER BY CreatedDate LIMIT 1", soqlQuote(o.Title), after)
	}
	var found struct {
		Records []struct {
			ID          string `json:"Id"`
			Description string `json:"Description"`
			Title       string `json:"Title"`
		} `json:"records"`
	}
	if err := s.call(ctx, http.MethodGet, "query?q="+url.QueryEscape(q), nil, &found); err != nil {
		return "", err
	}
	for _, r := range found.Records {
		if o.Kind == Note && r.Title == o.Title {
			return r.ID, s.link(ctx, record, r.ID)
		}
		if o.Kind == Task && strings.Contains(r.Description, o.Ref) {
			return r.ID, nil
		}
	}
	return "", nil
}

// soqlQuote escapes text for a SOQL string literal.
func soqlQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s)
}

func (s *Salesforce) call(ctx context.Context, method, path string, in, out any) error {
	u := strings.TrimSuffix(s.InstanceURL, "/") + "/services/data/" + SalesforceVersion + "/" + path
	return call(ctx, s.HTTP, "Salesforce", method, u, s.Token, in, out, func(b []byte) string {
		var errs []struct {
			Message   string `json:"message"`
			ErrorCode string `json:"errorCode"`
		}
		if json.Unmarshal(b, &errs) == nil && len(errs) > 0 {
			return errs[0].ErrorCode + ": " + errs[0].Message
		}
		return string(b)
	})
}
