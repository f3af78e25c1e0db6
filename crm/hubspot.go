package crm

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// HubSpot's association types from an engagement to a deal (HUBSPOT_DEFINED).
const (
	hubSpotNoteToDeal = 214
	hubSpotTaskToDeal = 216
)

// maxHubSpotBody is the most a note's or task's text may hold, in bytes (HubSpot's limit on
// hs_note_body is 65,536 characters).
const maxHubSpotBody = 65536

// HubSpot is a Client of HubSpot's CRM API v3: a note (hs_note_body) or a task (hs_task_*) made
// with its association to the deal in the create request, so that it is never made unattached.
type HubSpot struct {
	Base  string // https://api.hubapi.com
	Token string // a private app's access token, or an OAuth access token
	HTTP  *http.Client
}

var _ Client = (*HubSpot)(nil)

type hubSpotAssociation struct {
	To    struct{ ID string } `json:"to"`
	Types []hubSpotType       `json:"types"`
}

type hubSpotType struct {
	Category string `json:"associationCategory"`
	ID       int    `json:"associationTypeId"`
}

type hubSpotObject struct {
	ID         string               `json:"id,omitempty"`
	Properties map[string]string    `json:"properties"`
	Assoc      []hubSpotAssociation `json:"associations,omitempty"`
}

// kind is the object type's path and the property that holds o's text.
func (h *HubSpot) kind(o Object) (objects, body string) {
	if o.Kind == Note {
		return "notes", "hs_note_body"
	}
	return "tasks", "hs_task_body"
}

func (h *HubSpot) properties(o Object) map[string]string {
	text := make([]string, len(o.Lines))
	for i, l := range o.Lines {
		text[i] = html.EscapeString(l)
	}
	body := strings.Join(text, "<br>")
	if len(body) > maxHubSpotBody {
		// Cut at a line's end, keeping the last line: the reference a cut-short create is found by.
		last := "<br>…<br>" + text[len(text)-1]
		head := body[:maxHubSpotBody-len(last)]
		body = head[:max(strings.LastIndex(head, "<br>"), 0)] + last
	}
	at := o.At.UTC().Format(time.RFC3339Nano)
	if o.Kind == Note {
		return map[string]string{"hs_note_body": body, "hs_timestamp": at}
	}
	status := "NOT_STARTED"
	if o.Status == ledger.StatusDone || o.Status == ledger.StatusDropped {
		status = "COMPLETED" // the two statuses HubSpot documents; a dropped task's text says so
	}
	return map[string]string{"hs_task_subject": o.Title, "hs_task_body": body, "hs_timestamp": at,
		"hs_task_status": status, "hs_task_priority": "MEDIUM", "hs_task_type": "TODO"}
}

// Create implements Client: POST /crm/v3/objects/{notes,tasks} with its association to the deal.
func (h *HubSpot) Create(ctx context.Context, record string, o Object) (string, error) {
	objects, _ := h.kind(o)
	typ := hubSpotTaskToDeal
	if o.Kind == Note {
		typ = hubSpotNoteToDeal
	}
	a := hubSpotAssociation{Types: []hubSpotType{{Category: "HUBSPOT_DEFINED", ID: typ}}}
	a.To.ID = record
	var made hubSpotObject
	err := h.call(ctx, http.MethodPost, "/crm/v3/objects/"+objects, hubSpotObject{Properties: h.properties(o), Assoc: []hubSpotAssociation{a}}, &made)
	if err == nil && made.ID == "" {
		err = &APIError{CRM: "HubSpot", Status: http.StatusBadGateway, Message: "made an object without an ID", RetryAfter: -1}
	}
	return made.ID, err
}

// Update implements Client: PATCH /crm/v3/objects/{notes,tasks}/{id}.
func (h *HubSpot) Update(ctx context.Context, _, id string, o Object) error {
	objects, _ := h.kind(o)
	return h.call(ctx, http.MethodPatch, "/crm/v3/objects/"+objects+"/"+url.PathEscape(id), hubSpotObject{Properties: h.properties(o)}, nil)
}

// Find implements Client with the CRM search: the object whose text holds o's reference, made
// since. HubSpot's search index lags its writes by a few seconds, so that an object made just
// before may not be found yet.
func (h *HubSpot) Find(ctx context.Context, _ string, o Object, since time.Time) (string, error) {
	objects, body := h.kind(o)
	type filter struct {
		Property string `json:"propertyName"`
		Operator string `json:"operator"`
		Value    string `json:"value"`
	}
	q := map[string]any{
		"filterGroups": []map[string][]filter{{"filters": {
			{body, "CONTAINS_TOKEN", o.Ref},
			{"hs_createdate", "GTE", strconv.FormatInt(since.UnixMilli(), 10)},
		}}},
		"properties": []string{body},
		"limit":      1,
	}
	var found struct{ Results []hubSpotObject }
	if err := h.call(ctx, http.MethodPost, "/crm/v3/objects/"+objects+"/search", q, &found); err != nil {
		return "", err
	}
	for _, r := range found.Results {
		if strings.Contains(r.Properties[body], o.Ref) {
			return r.ID, nil
		}
	}
	return "", nil
}

func (h *HubSpot) call(ctx context.Context, method, path string, in, out any) error {
	return call(ctx, h.HTTP, "HubSpot", method, strings.TrimSuffix(h.Base, "/")+path, h.Token, in, out, func(b []byte) string {
		var e struct{ Message string }
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			return e.Message
		}
		return string(b)
	})
}
