package crm_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// The fakes below implement the documented endpoints of HubSpot's CRM API v3 and Salesforce's
// REST API that the clients use, and refuse what those APIs refuse: a wrong token (401), a create
// without its association or with another association type, a field with a value the API does not
// take (400), an unknown ID (404). Each keeps what it was asked to make, and can answer the next
// requests with a failure (fail).

// fault is an answer given instead of the real one.
type fault struct {
	method, path string // the request it answers: method and path prefix
	status       int
	retryAfter   string // "" for none
}

// fakeCRM is what both fakes share: the token, the faults, and counts of requests.
type fakeCRM struct {
	*httptest.Server
	token string

	mu     sync.Mutex
	faults []fault
	calls  map[string]int // "POST /crm/v3/objects/tasks" (no IDs) → requests, faults included
	next   int
}

// start serves h over TLS until the test ends, accepting token.
func (f *fakeCRM) start(t *testing.T, token string, h http.HandlerFunc) {
	f.token, f.calls, f.next = token, map[string]int{}, 1000
	f.Server = httptest.NewTLSServer(h)
	t.Cleanup(f.Close)
}

func (f *fakeCRM) fail(method, path string, status int, retryAfter string, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range times {
		f.faults = append(f.faults, fault{method, path, status, retryAfter})
	}
}

func (f *fakeCRM) count(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[call]
}

// admit counts the request under name and answers it with a fault or a 401 when it has one;
// it is called with f.mu held.
func (f *fakeCRM) admit(w http.ResponseWriter, r *http.Request, name string, unauthorized func(http.ResponseWriter)) bool {
	f.calls[name]++
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		unauthorized(w)
		return false
	}
	for i, ft := range f.faults {
		if ft.method == r.Method && strings.HasPrefix(r.URL.Path, ft.path) {
			f.faults = append(f.faults[:i], f.faults[i+1:]...)
			if ft.retryAfter != "" {
				w.Header().Set("Retry-After", ft.retryAfter)
			}
			w.WriteHeader(ft.status)
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// hubSpotObject is a note or a task as the fake HubSpot keeps it.
type hubSpotObject struct {
	ID         string
	Properties map[string]string
	Deals      []string // associated deals
	Created    time.Time
}

// fakeHubSpot is HubSpot's CRM API: notes and tasks, with their deal associations, and search.
type fakeHubSpot struct {
	fakeCRM
	deals   map[string]bool
	objects map[string]map[string]*hubSpotObject // "notes"/"tasks" → ID → object
}

var hubSpotPath = regexp.MustCompile(`^/crm/v3/objects/(notes|tasks)(?:/(search|[0-9]+))?$`)

func newFakeHubSpot(t *testing.T, token string, deals ...string) *fakeHubSpot {
	f := &fakeHubSpot{deals: map[string]bool{}, objects: map[string]map[string]*hubSpotObject{"notes": {}, "tasks": {}}}
	for _, d := range deals {
		f.deals[d] = true
	}
	f.start(t, token, f.serve)
	return f
}

func hubSpotError(w http.ResponseWriter, status int, category, format string, args ...any) {
	writeJSON(w, status, map[string]string{"status": "error", "message": fmt.Sprintf(format, args...), "category": category})
}

func (f *fakeHubSpot) serve(w http.ResponseWriter, r *http.Request) {
	m := hubSpotPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		hubSpotError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "no such endpoint %s", r.URL.Path)
		return
	}
	typ, rest := m[1], m[2]
	name := r.Method + " /crm/v3/objects/" + typ
	if rest == "search" {
		name += "/search"
	} else if rest != "" {
		name += "/{id}"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.admit(w, r, name, func(w http.ResponseWriter) {
		hubSpotError(w, http.StatusUnauthorized, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
	}) {
		return
	}
	var body struct {
		Properties   json.RawMessage `json:"properties"` // an object on writes, a list on a search
		Associations []struct {
			To struct {
				ID string `json:"id"`
			} `json:"to"`
			Types []struct {
				Category string `json:"associationCategory"`
				ID       int    `json:"associationTypeId"`
			} `json:"types"`
		} `json:"associations"`
		FilterGroups []struct {
			Filters []struct {
				Property string `json:"propertyName"`
				Operator string `json:"operator"`
				Value    string `json:"value"`
			} `json:"filters"`
		} `json:"filterGroups"`
	}
	if r.Header.Get("Content-Type") != "application/json" {
		hubSpotError(w, http.StatusUnsupportedMediaType, "VALIDATION_ERROR", "send JSON")
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		hubSpotError(w, http.StatusBadRequest, "VALIDATION_ERROR", "invalid JSON: %v", err)
		return
	}
	props := map[string]string{}
	if rest != "search" {
		if err := json.Unmarshal(body.Properties, &props); err != nil {
			hubSpotError(w, http.StatusBadRequest, "VALIDATION_ERROR", "properties: %v", err)
			return
		}
	}
	switch {
	case r.Method == http.MethodPost && rest == "":
		wantType := map[string]int{"notes": 214, "tasks": 216}[typ]
		if len(body.Associations) != 1 || len(body.Associations[0].Types) != 1 ||
			body.Associations[0].Types[0].ID != wantType || body.Associations[0].Types[0].Category != "HUBSPOT_DEFINED" {
			hubSpotError(w, http.StatusBadRequest, "VALIDATION_ERROR", "this test wants one association of type %d to a deal", wantType)
			return
		}
		deal := body.Associations[0].To.ID
		if !f.deals[deal] {
			hubSpotError(w, http.StatusBadRequest, "VALIDATION_ERROR", "deal %s does not exist", deal)
			return
		}
		if msg := f.check(typ, props, true); msg != "" {
			hubSpotError(w, http.StatusBadRequest, "VALIDATION_ERROR", "%s", msg)
			return
		}
		f.next++
		o := &hubSpotObject{ID: strconv.Itoa(f.next), Properties: props, Deals: []string{deal}, Created: time.Now()}
		f.objects[typ][o.ID] = o
		writeJSON(w, http.StatusCreated, map[string]any{"id": o.ID, "properties": o.Properties, "createdAt": o.Created})
	case r.Method == http.MethodPatch && rest != "" && rest != "search":
		o := f.objects[typ][rest]
		if o == nil {
			hubSpotError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "no %s %s", typ, rest)
			return
		}
		if msg := f.check(typ, props, false); msg != "" {
			hubSpotError(w, http.StatusBadRequest, "VALIDATION_ERROR", "%s", msg)
			return
		}
		for k, v := range props {
			o.Properties[k] = v
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": o.ID, "properties": o.Properties})
	case r.Method == http.MethodPost && rest == "search":
		var results []map[string]any
		for _, o := range f.objects[typ] {
			if f.matches(o, body.FilterGroups[0].Filters) {
				results = append(results, map[string]any{"id": o.ID, "properties": o.Properties})
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"total": len(results), "results": results})
	default:
		hubSpotError(w, http.StatusMethodNotAllowed, "VALIDATION_ERROR", "%s %s", r.Method, r.URL.Path)
	}
}

// check returns what is wrong with an object's properties, as HubSpot would refuse them.
func (f *fakeHubSpot) check(typ string, p map[string]string, create bool) string {
	if _, err := time.Parse(time.RFC3339Nano, p["hs_timestamp"]); err != nil && (create || p["hs_timestamp"] != "") {
		return "hs_timestamp: want a UTC time"
	}
	if typ == "notes" {
		if n := utf8.RuneCountInString(p["hs_note_body"]); n == 0 || n > 65536 {
			return fmt.Sprintf("hs_note_body: %d characters, want 1 to 65,536", n)
		}
		return ""
	}
	if create && p["hs_task_subject"] == "" {
		return "hs_task_subject is empty"
	}
	if s := p["hs_task_status"]; s != "NOT_STARTED" && s != "COMPLETED" {
		return "hs_task_status " + s + " was not one of the allowed options"
	}
	if s := p["hs_task_priority"]; s != "LOW" && s != "MEDIUM" && s != "HIGH" {
		return "hs_task_priority " + s + " was not one of the allowed options"
	}
	return ""
}

// matches applies a filter group: CONTAINS_TOKEN on a text property, GTE on hs_createdate.
func (f *fakeHubSpot) matches(o *hubSpotObject, filters []struct {
	Property string `json:"propertyName"`
	Operator string `json:"operator"`
	Value    string `json:"value"`
}) bool {
	for _, c := range filters {
		switch {
		case c.Operator == "CONTAINS_TOKEN":
			words := strings.FieldsFunc(o.Properties[c.Property], func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
			found := false
			for _, w := range words {
				found = found || strings.EqualFold(w, c.Value)
			}
			if !found {
				return false
			}
		case c.Operator == "GTE" && c.Property == "hs_createdate":
			ms, err := strconv.ParseInt(c.Value, 10, 64)
			if err != nil || o.Created.UnixMilli() < ms {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// remove deletes an object, as a person may in HubSpot.
func (f *fakeHubSpot) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, objects := range f.objects {
		delete(objects, id)
	}
}

// list returns copies of the objects of a type.
func (f *fakeHubSpot) list(typ string) []hubSpotObject {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []hubSpotObject
	for _, o := range f.objects[typ] {
		c := *o
		c.Properties = maps.Clone(o.Properties)
		out = append(out, c)
	}
	return out
}

// sfRecord is a Task, ContentNote or ContentDocumentLink as the fake Salesforce keeps it.
type sfRecord struct {
	ID      string
	Type    string
	Fields  map[string]any
	Created time.Time
}

// fakeSalesforce is Salesforce's REST API: Tasks on Opportunities, ContentNotes and their
// ContentDocumentLinks, and the SOQL queries the client makes.
type fakeSalesforce struct {
	fakeCRM
	opportunities map[string]bool
	records       map[string]*sfRecord
}

const sfBase = "/services/data/v60.0/"

var (
	sfPath      = regexp.MustCompile(`^` + sfBase + `sobjects/(Task|ContentNote|ContentDocumentLink)(?:/([A-Za-z0-9]+))?$`)
	sfTaskQuery = regexp.MustCompile(`^SELECT Id, Description FROM Task WHERE WhatId = '([A-Za-z0-9]+)' AND CreatedDate >= (\S+) ORDER BY CreatedDate LIMIT \d+$`)
	sfNoteQuery = regexp.MustCompile(`^SELECT Id, Title FROM ContentNote WHERE Title = '((?:[^'\\]|\\.)*)' AND CreatedDate >= (\S+) ORDER BY CreatedDate LIMIT \d+$`)
	sfStatuses  = map[string]bool{"Not Started": true, "In Progress": true, "Completed": true, "Waiting on someone else": true, "Deferred": true}
	sfPrefixes  = map[string]string{"Task": "00T", "ContentNote": "069", "ContentDocumentLink": "06A"}
)

func newFakeSalesforce(t *testing.T, token string, opportunities ...string) *fakeSalesforce {
	f := &fakeSalesforce{opportunities: map[string]bool{}, records: map[string]*sfRecord{}}
	for _, o := range opportunities {
		f.opportunities[o] = true
	}
	f.start(t, token, f.serve)
	return f
}

func sfError(w http.ResponseWriter, status int, code, format string, args ...any) {
	writeJSON(w, status, []map[string]any{{"message": fmt.Sprintf(format, args...), "errorCode": code, "fields": []string{}}})
}

func (f *fakeSalesforce) serve(w http.ResponseWriter, r *http.Request) {
	name := r.Method + " " + r.URL.Path
	m := sfPath.FindStringSubmatch(r.URL.Path)
	if m != nil && m[2] != "" {
		name = r.Method + " " + sfBase + "sobjects/" + m[1] + "/{id}"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.admit(w, r, name, func(w http.ResponseWriter) {
		sfError(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
	}) {
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == sfBase+"query" {
		f.query(w, r.URL.Query().Get("q"))
		return
	}
	if m == nil {
		sfError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	typ, id := m[1], m[2]
	var fields map[string]any
	if err := json.NewDecoder(r.Body).Decode(&fields); err != nil {
		sfError(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "%v", err)
		return
	}
	switch {
	case r.Method == http.MethodPost && id == "":
		if msg, code := f.check(typ, fields, true); msg != "" {
			sfError(w, http.StatusBadRequest, code, "%s", msg)
			return
		}
		f.next++
		rec := &sfRecord{ID: fmt.Sprintf("%s%012dAAA", sfPrefixes[typ], f.next), Type: typ, Fields: fields, Created: time.Now()}
		f.records[rec.ID] = rec
		writeJSON(w, http.StatusCreated, map[string]any{"id": rec.ID, "success": true, "errors": []any{}})
	case r.Method == http.MethodPatch && id != "":
		rec := f.records[id]
		if rec == nil || rec.Type != typ {
			sfError(w, http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: %s", id)
			return
		}
		if msg, code := f.check(typ, fields, false); msg != "" {
			sfError(w, http.StatusBadRequest, code, "%s", msg)
			return
		}
		for k, v := range fields {
			rec.Fields[k] = v
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		sfError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "%s", r.Method)
	}
}

// check returns what is wrong with a record's fields, and Salesforce's code for it.
func (f *fakeSalesforce) check(typ string, fields map[string]any, create bool) (string, string) {
	str := func(k string) string { s, _ := fields[k].(string); return s }
	switch typ {
	case "Task":
		if create && !f.opportunities[str("WhatId")] {
			return "WhatId: id value of incorrect type or unknown: " + str("WhatId"), "INVALID_CROSS_REFERENCE_KEY"
		}
		if create && str("Subject") == "" {
			return "Subject is required", "REQUIRED_FIELD_MISSING"
		}
		if !sfStatuses[str("Status")] {
			return "Status: bad value for restricted picklist field: " + str("Status"), "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
		}
		if d, ok := fields["ActivityDate"]; ok && d != nil {
			if _, err := time.Parse(time.DateOnly, str("ActivityDate")); err != nil {
				return "ActivityDate: value not of required type", "JSON_PARSER_ERROR"
			}
		}
	case "ContentNote":
		if _, err := base64.StdEncoding.DecodeString(str("Content")); err != nil || str("Title") == "" {
			return "a ContentNote needs a Title and base64 Content", "FIELD_INTEGRITY_EXCEPTION"
		}
	case "ContentDocumentLink":
		note := f.records[str("ContentDocumentId")]
		if note == nil || note.Type != "ContentNote" || !f.opportunities[str("LinkedEntityId")] || str("ShareType") == "" {
			return "ContentDocumentId, LinkedEntityId and ShareType must name a document, a record and a share type", "INVALID_CROSS_REFERENCE_KEY"
		}
		for _, r := range f.records {
			if r.Type == "ContentDocumentLink" && r.Fields["ContentDocumentId"] == note.ID && r.Fields["LinkedEntityId"] == str("LinkedEntityId") {
				return "Document with ID: " + note.ID + " is already linked with the entity", "DUPLICATE_VALUE"
			}
		}
	}
	return "", ""
}

// query answers the two SOQL queries the client makes; any other is malformed here.
func (f *fakeSalesforce) query(w http.ResponseWriter, q string) {
	var out []map[string]any
	since := func(v string) time.Time { t, _ := time.Parse(time.RFC3339, v); return t }
	if m := sfTaskQuery.FindStringSubmatch(q); m != nil {
		for _, r := range f.records {
			if r.Type == "Task" && r.Fields["WhatId"] == m[1] && !r.Created.Before(since(m[2])) {
				out = append(out, map[string]any{"Id": r.ID, "Description": r.Fields["Description"]})
			}
		}
	} else if m := sfNoteQuery.FindStringSubmatch(q); m != nil {
		title := strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(m[1])
		for _, r := range f.records {
			if r.Type == "ContentNote" && r.Fields["Title"] == title && !r.Created.Before(since(m[2])) {
				out = append(out, map[string]any{"Id": r.ID, "Title": title})
			}
		}
	} else {
		sfError(w, http.StatusBadRequest, "MALFORMED_QUERY", "unexpected query %q", q)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"totalSize": len(out), "done": true, "records": out})
}

// remove deletes a record, as a person may in Salesforce.
func (f *fakeSalesforce) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.records, id)
}

// list returns copies of the records of a type.
func (f *fakeSalesforce) list(typ string) []sfRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sfRecord
	for _, r := range f.records {
		if r.Type == typ {
			c := *r
			c.Fields = maps.Clone(r.Fields)
			out = append(out, c)
		}
	}
	return out
}
