package ledger

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestEventJSONShape(t *testing.T) {
	at := time.Date(2026, 3, 5, 14, 30, 0, 0, time.UTC)
	cases := []struct {
		name string
		e    Event
		want string
	}{
		{
			name: "final",
			e: Event{V: 1, Type: TypeSegmentFinal, Seq: 7, Meeting: "m1", At: at, Segment: &SegmentInfo{
				ID: "s1", Channel: "mic", Speaker: "spk-1", Org: "Acme", StartMS: 1200, EndMS: 3400, Text: "Hi.", Language: "en"}},
			want: `{"v":1,"type":"segment.final","seq":7,"meeting":"m1","at":"2026-03-05T14:30:00Z",` +
				`"segment":{"id":"s1","channel":"mic","speaker":"spk-1","org":"Acme","start_ms":1200,"end_ms":3400,"text":"Hi.","language":"en"}}`,
		},
		{
			name: "speaker",
			e:    Event{V: 1, Type: TypeSpeakerUpdate, Seq: 2, Meeting: "m1", At: at, Speaker: &SpeakerInfo{ID: "spk-1", Channel: "mic", Name: "Dana", Org: "Acme"}},
			want: `{"v":1,"type":"speaker.update","seq":2,"meeting":"m1","at":"2026-03-05T14:30:00Z",` +
				`"speaker":{"id":"spk-1","channel":"mic","name":"Dana","org":"Acme"}}`,
		},
		{
			name: "commitment",
			e: Event{V: 1, Type: TypeCommitmentUpsert, Seq: 9, Meeting: "m1", At: at, Commitment: &CommitmentInfo{
				ID: "c1", What: "send the deck", Owner: "Acme", OwnerOrg: "Acme", Beneficiary: "you", Due: "2026-03-06",
				DuePhrase: "by tomorrow", Status: StatusOpen, Confidence: 0.9, Quote: "We'll send you the deck by tomorrow.",
				SegmentIDs: []string{"s1"}, StartMS: 1200}},
			want: `{"v":1,"type":"commitment.upsert","seq":9,"meeting":"m1","at":"2026-03-05T14:30:00Z",` +
				`"commitment":{"id":"c1","what":"send the deck","owner":"Acme","owner_org":"Acme","beneficiary":"you",` +
				`"due":"2026-03-06","due_phrase":"by tomorrow","status":"open","confidence":0.9,` +
				`"quote":"We'll send you the deck by tomorrow.","segment_ids":["s1"],"start_ms":1200}}`,
		},
		{
			name: "state",
			e:    Event{V: 1, Type: TypeMeetingState, Seq: 1, Meeting: "m1", At: at, State: MeetingPaused, Reason: "user"},
			want: `{"v":1,"type":"meeting.state","seq":1,"meeting":"m1","at":"2026-03-05T14:30:00Z","state":"paused","reason":"user"}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.e)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Fatalf("json:\n got %s\nwant %s", b, tc.want)
			}
			var back Event
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			b2, _ := json.Marshal(back)
			if string(b2) != tc.want {
				t.Fatalf("round trip:\n got %s\nwant %s", b2, tc.want)
			}
			if err := back.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestEventValidate(t *testing.T) {
	seg := &SegmentInfo{ID: "s1", Channel: "mic"}
	bad := map[string]Event{
		"version":           {V: 2, Type: TypeSegmentFinal, Meeting: "m", Segment: seg},
		"unknown type":      {Type: "segment.deleted", Meeting: "m", Segment: seg},
		"no meeting":        {Type: TypeSegmentFinal, Segment: seg},
		"final no segment":  {Type: TypeSegmentFinal, Meeting: "m"},
		"partial no id":     {Type: TypeSegmentPartial, Meeting: "m", Segment: &SegmentInfo{}},
		"speaker no id":     {Type: TypeSpeakerUpdate, Meeting: "m", Speaker: &SpeakerInfo{Name: "x"}},
		"commitment absent": {Type: TypeCommitmentUpsert, Meeting: "m"},
		"state unknown":     {Type: TypeMeetingState, Meeting: "m", State: "sleeping"},
		"speaker role":      {Type: TypeSpeakerUpdate, Meeting: "m", Speaker: &SpeakerInfo{ID: "x", Role: "bogus"}},
		"role not as given": {Type: TypeSpeakerUpdate, Meeting: "m", Speaker: &SpeakerInfo{ID: "x", Role: "Partner"}},
		"segment role":      {Type: TypeSegmentFinal, Meeting: "m", Segment: &SegmentInfo{ID: "s1", Role: "seller"}},
		"meeting not UTF-8": {Type: TypeSegmentFinal, Meeting: "m\xff", Segment: seg},
		"NUL in text":       {Type: TypeSegmentFinal, Meeting: "m", Segment: &SegmentInfo{ID: "s1", Text: "a\x00b"}},
		"NUL in a list":     {Type: TypeCommitmentUpsert, Meeting: "m", Commitment: &CommitmentInfo{ID: "c", SegmentIDs: []string{"\x00"}}},
	}
	for name, e := range bad {
		if err := e.Validate(); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%s: Validate = %v, want ErrInvalidEvent", name, err)
		}
	}
	good := Event{Type: TypeMeetingState, Meeting: "m", State: MeetingRecording}
	if err := good.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v", good, err)
	}
}

func TestEventTypeStored(t *testing.T) {
	for _, typ := range []EventType{TypeSegmentFinal, TypeSpeakerUpdate, TypeCommitmentUpsert, TypeMeetingState} {
		if !typ.Stored() || !typ.Known() {
			t.Errorf("%s: Stored=%v Known=%v, want both", typ, typ.Stored(), typ.Known())
		}
	}
	if TypeSegmentPartial.Stored() || !TypeSegmentPartial.Known() {
		t.Errorf("partial: Stored=%v Known=%v", TypeSegmentPartial.Stored(), TypeSegmentPartial.Known())
	}
	if EventType("x").Known() {
		t.Error(`"x" is known`)
	}
}

func TestCommitmentEditSetsOnlyItsFieldsAndMarksThem(t *testing.T) {
	c := CommitmentInfo{ID: "c-1", What: "send the pricing", Owner: "Dana", Due: "2026-03-06", DuePhrase: "by Friday",
		Status: StatusOpen, Quote: "I'll send the pricing by Friday.", SegmentIDs: []string{"mic-1"}}
	done, none := StatusDone, ""
	CommitmentEdit{Status: &done, Due: &none}.Apply(&c)
	CommitmentEdit{Status: &done}.Apply(&c)
	if c.Status != StatusDone || c.Due != "" || c.DuePhrase != "" || c.Owner != "Dana" || c.What != "send the pricing" ||
		len(c.SegmentIDs) != 1 {
		t.Errorf("after the edits: %+v", c)
	}
	if !slices.Equal(c.Edited, []string{EditStatus, EditDue}) || !c.EditedBy(EditDue) || c.EditedBy(EditOwner) {
		t.Errorf("Edited = %v, want [status due] once each", c.Edited)
	}
	if !(CommitmentEdit{}).Empty() || (CommitmentEdit{Status: &done}).Empty() {
		t.Error("Empty is wrong")
	}
}
