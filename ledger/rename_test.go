package ledger

import "testing"

// A speaker renamed is renamed wherever a commitment names them, and the commitment's fields stay
// the detector's to change.
func TestCommitmentEditRenameReachesEveryMention(t *testing.T) {
	c := CommitmentInfo{ID: "c-1", What: "share the checklist", Owner: "Northwind", Contact: "ravi", Beneficiary: "Laura",
		BeneficiaryOrg: "Fabrikam", Status: StatusOpen}
	if !c.Names("Ravi") || c.Names("Rav") || c.Names("") {
		t.Errorf("Names is wrong for %+v", c)
	}
	CommitmentEdit{Rename: &Rename{From: "Ravi", To: "Ravi Menon"}}.Apply(&c)
	CommitmentEdit{Rename: &Rename{From: "laura", To: "Laura Chen"}}.Apply(&c)
	if c.Owner != "Northwind" || c.Contact != "Ravi Menon" || c.Beneficiary != "Laura Chen" || len(c.Edited) != 0 {
		t.Errorf("after the renames: %+v", c)
	}
	// A speaker who bears their organisation's name is not the organisation: "we" stays Northwind's.
	org := CommitmentInfo{ID: "c-2", Owner: "Northwind", OwnerOrg: "Northwind", Contact: "Northwind", Status: StatusOpen}
	CommitmentEdit{Rename: &Rename{From: "Northwind", To: "Ravi Menon"}}.Apply(&org)
	if org.Owner != "Northwind" || org.Contact != "Ravi Menon" {
		t.Errorf("after renaming a speaker named as their organisation: %+v", org)
	}
	if (CommitmentEdit{Rename: &Rename{From: "a", To: "b"}}).Empty() {
		t.Error("a rename is not an empty edit")
	}
}

// A rename reaches the words of the action that name the person, and only whole names.
func TestCommitmentEditRenameReachesTheAction(t *testing.T) {
	c := CommitmentInfo{ID: "c-1", What: "send the integration architecture to Laura Chen", Owner: "Ravi Menon",
		Beneficiary: "Laura Chen", BeneficiaryOrg: "Fabrikam", Status: StatusOpen}
	if !c.Names("laura chen") {
		t.Errorf("Names misses the beneficiary named in the action: %+v", c)
	}
	CommitmentEdit{Rename: &Rename{From: "Laura Chen", To: "Laura Kim"}}.Apply(&c)
	if c.What != "send the integration architecture to Laura Kim" || c.Beneficiary != "Laura Kim" {
		t.Errorf("after the rename: %+v", c)
	}
	// Named only in the action: still renamed there.
	call := CommitmentInfo{ID: "c-2", What: "set up a call with Léa and the CFO", Owner: "Ravi Menon", Status: StatusOpen}
	if !call.Names("léa") {
		t.Errorf("Names misses a person named only in the action: %+v", call)
	}
	CommitmentEdit{Rename: &Rename{From: "Léa", To: "Léa Petit"}}.Apply(&call)
	if call.What != "set up a call with Léa Petit and the CFO" {
		t.Errorf("after the rename: %q", call.What)
	}
	// A part of a word is no name, an action that says the new name already stays, and an
	// organisation's name is the organisation's.
	for _, tc := range []struct {
		c        CommitmentInfo
		from, to string
	}{
		{CommitmentInfo{What: "share the Danube rollout plan", Owner: "Ravi Menon"}, "Dan", "Dan Ruiz"},
		{CommitmentInfo{What: "send the report to Laura Chen", Owner: "Ravi Menon"}, "Laura", "Laura Chen"},
		{CommitmentInfo{What: "share Northwind's checklist", Owner: "Northwind", OwnerOrg: "Northwind", Contact: "Northwind"}, "Northwind", "Ravi Menon"},
	} {
		want := tc.c.What
		CommitmentEdit{Rename: &Rename{From: tc.from, To: tc.to}}.Apply(&tc.c)
		if tc.c.What != want {
			t.Errorf("renaming %q to %q changed the action %q to %q", tc.from, tc.to, want, tc.c.What)
		}
	}
}
