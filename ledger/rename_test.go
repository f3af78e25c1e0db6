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
