package recap

import (
	"strings"

	"github.com/ledgerline/ledgerline/ledger"
)

// roster tells who is who in one meeting: each speaker by ID, and the organisation each belongs
// to, named as the meeting's deal names it.
type roster struct {
	deal *ledger.Deal
	byID map[string]ledger.Participant
}

// roster indexes the meeting's participants by speaker ID.
func (d *MeetingData) roster() roster {
	r := roster{deal: d.Deal, byID: make(map[string]ledger.Participant, len(d.Participants))}
	for _, p := range d.Participants {
		r.byID[p.SpeakerID] = p
	}
	return r
}

// org is the organisation a person belongs to in the meeting's deal (see ledger.OrgName).
func (r roster) org(org string, role ledger.Role) string { return ledger.OrgName(r.deal, org, role) }

// nameSides names the organisations of the meeting's commitments as its deal names them
// (ledger.NameSides).
func (d *MeetingData) nameSides() {
	for i := range d.Commitments {
		ledger.NameSides(d.Deal, &d.Commitments[i].CommitmentInfo)
	}
}

// orgOf is the organisation shown for a participant. A side guessed from no organisation shows
// nothing: it is no more than "other".
func (r roster) orgOf(p ledger.Participant) string { return r.org(p.Org, p.StatedRole) }

// who names a segment's speaker and the organisation shown for them, as last named: the
// participant's (a rename reaches every line they said), else the one the segment was heard with.
func (r roster) who(g ledger.SegmentInfo) (name, org string) {
	p, ok := r.byID[g.Speaker]
	name = p.Name
	if ok {
		org = r.orgOf(p)
	}
	if org == "" && (g.Org != "" || g.Role != "") {
		org = r.org(g.Org, g.Role)
	}
	if name == "" {
		name = g.Speaker
	}
	if name == "" {
		name = "Unknown speaker"
	}
	return name, org
}

// declined reports whether p refused to be recorded.
func declined(p ledger.Participant) bool { return p.Consent == "declined" }

// isYou reports whether a name is only the listener's pronoun, which old records hold where the
// detector did not yet resolve "you" to a person: such a name says nothing to a reader.
func isYou(name string) bool {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "you", "yourself", "you all", "usted", "ustedes", "vosotros", "sie", "ihnen", "vous", "você", "vocês":
		return true
	}
	return false
}

// notYou is name, or "" where it is only "you" (see isYou).
func notYou(name string) string {
	if isYou(name) {
		return ""
	}
	return name
}

// OwnerLabel is how every page and export names who owns a commitment: the organisation and the
// person who speaks for it ("Northwind — Ravi Menon"), a person and their organisation ("Dana
// Reyes (Contoso)"), or the owner alone; "" when the record names only "you".
func OwnerLabel(c ledger.CommitmentInfo) string { return ownerLabel(c.Owner, c.OwnerOrg, c.Contact) }

func ownerLabel(owner, ownerOrg, contact string) string {
	owner, contact = notYou(owner), notYou(contact)
	switch {
	case owner == "":
		return ownerOrg
	case contact != "" && !strings.EqualFold(contact, owner):
		return owner + " — " + contact
	case ownerOrg != "" && !strings.EqualFold(ownerOrg, owner):
		return owner + " (" + ownerOrg + ")"
	}
	return owner
}

// ForLabel is how every page and export names for whom a commitment is made: "for Laura Chen
// (Fabrikam)", "for Fabrikam", or "" when nobody is named (or only "you"), or when the action
// already names them ("send Laura the checklist").
func ForLabel(c ledger.CommitmentInfo) string {
	return forLabel(c.What, c.Beneficiary, c.BeneficiaryOrg)
}

func forLabel(what, beneficiary, org string) string {
	beneficiary = notYou(beneficiary)
	switch {
	case beneficiary != "" && strings.Contains(strings.ToLower(what), strings.ToLower(beneficiary)):
		return ""
	case beneficiary == "" && org == "":
		return ""
	case beneficiary == "":
		return "for " + org
	case org != "" && !strings.EqualFold(org, beneficiary):
		return "for " + beneficiary + " (" + org + ")"
	}
	return "for " + beneficiary
}
