package team

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

// orgJSON is an organisation as the API shows it.
type orgJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request, p principal) error {
	var orgs []ledger.Org
	if p.administrator() {
		var err error
		if orgs, err = s.store.Orgs(r.Context()); err != nil {
			return err
		}
	} else {
		o, err := s.store.Org(r.Context(), p.cred.OrgID)
		if err != nil {
			return err
		}
		orgs = []ledger.Org{o}
	}
	out := make([]orgJSON, 0, len(orgs))
	for _, o := range orgs {
		out = append(out, orgJSON{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// meJSON is the caller as GET /api/v1/me answers it.
type meJSON struct {
	Name          string   `json:"name"`
	Role          string   `json:"role"`
	Administrator bool     `json:"administrator"`
	Org           *orgJSON `json:"org,omitempty"`
}

// whoAmI says who the request is made as, so that a laptop recording for the server names its
// organisation as the server does.
func (s *Server) whoAmI(w http.ResponseWriter, r *http.Request, p principal) error {
	out := meJSON{Name: p.cred.Name, Role: string(p.cred.Role), Administrator: p.administrator()}
	if !p.administrator() {
		o, err := s.store.Org(r.Context(), p.cred.OrgID)
		if err != nil {
			return err
		}
		out.Org = &orgJSON{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createOrg(w http.ResponseWriter, r *http.Request, p principal) error {
	if !p.administrator() {
		return failf(http.StatusForbidden, "only the server's administrator may create organisations")
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	name, err := checkName("name", req.Name)
	if err != nil {
		return err
	}
	o := ledger.Org{ID: newID("org"), Name: name}
	if err := s.store.CreateOrg(r.Context(), o); err != nil {
		if errors.Is(err, ledger.ErrExists) {
			return failf(http.StatusConflict, "an organisation named %q exists already", name)
		}
		return err
	}
	o, err = s.store.Org(r.Context(), o.ID)
	if err != nil {
		return err
	}
	s.log.Info("organisation created", "org", o.ID, "by", p.cred.ID)
	writeJSON(w, http.StatusCreated, orgJSON{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt})
	return nil
}

// orgFor resolves an organisation given by ID or name, and checks that p may manage it.
func (s *Server) orgFor(r *http.Request, p principal, field, ref string) (ledger.Org, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ledger.Org{}, failf(http.StatusBadRequest, "give the organisation's id or name in %q", field)
	}
	o, err := s.store.Org(r.Context(), ref)
	if errors.Is(err, ledger.ErrNotFound) {
		o, err = s.store.OrgByName(r.Context(), ref)
	}
	if errors.Is(err, ledger.ErrNotFound) {
		return ledger.Org{}, failf(http.StatusNotFound, "no organisation %q: see `ledgerline admin org list`", ref)
	}
	if err != nil {
		return ledger.Org{}, err
	}
	return o, nil
}

// managedOrg is orgFor for an organisation p manages.
func (s *Server) managedOrg(r *http.Request, p principal, field, ref string) (ledger.Org, error) {
	o, err := s.orgFor(r, p, field, ref)
	if err != nil {
		return o, err
	}
	if !p.manages(o.ID) {
		return ledger.Org{}, failf(http.StatusForbidden, "you may not manage organisation %q: ask its administrator or the server's", o.Name)
	}
	return o, nil
}

// tokenJSON is a credential as the API shows it; Token only when it is made.
type tokenJSON struct {
	ID        string     `json:"id"`
	Token     string     `json:"token,omitempty"`
	Org       string     `json:"org"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

func parseMemberRole(v string) (ledger.MemberRole, error) {
	switch r := ledger.MemberRole(strings.ToLower(strings.TrimSpace(v))); r {
	case "":
		return ledger.MemberMember, nil
	case ledger.MemberAdmin, ledger.MemberMember:
		return r, nil
	}
	return "", failf(http.StatusBadRequest, "role %q: use admin or member", v)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p principal) error {
	var req struct {
		Org  string `json:"org"`
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	o, err := s.managedOrg(r, p, "org", req.Org)
	if err != nil {
		return err
	}
	name, err := checkName("name", req.Name)
	if err != nil {
		return err
	}
	role, err := parseMemberRole(req.Role)
	if err != nil {
		return err
	}
	secret := newSecret()
	c := ledger.Credential{ID: newID("tok"), Digest: digest(secret), Kind: ledger.CredentialToken, OrgID: o.ID, Role: role, Name: name}
	if err := s.store.AddCredential(r.Context(), c); err != nil {
		return err
	}
	s.log.Info("API token created", "token", c.ID, "org", o.ID, "by", p.cred.ID)
	writeJSON(w, http.StatusCreated, tokenJSON{ID: c.ID, Token: secret, Org: o.ID, Name: name, Role: string(role), CreatedAt: s.now().UTC()})
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p principal) error {
	ref := r.URL.Query().Get("org")
	if ref == "" {
		ref = p.cred.OrgID
	}
	orgID := ""
	if ref != "" {
		o, err := s.managedOrg(r, p, "org", ref)
		if err != nil {
			return err
		}
		orgID = o.ID
	} else if !p.administrator() {
		return failf(http.StatusBadRequest, "give the organisation in org")
	}
	cs, err := s.store.Credentials(r.Context(), orgID, ledger.CredentialToken)
	if err != nil {
		return err
	}
	out := make([]tokenJSON, 0, len(cs))
	for _, c := range cs {
		t := tokenJSON{ID: c.ID, Org: c.OrgID, Name: c.Name, Role: string(c.Role), CreatedAt: c.CreatedAt}
		if !c.RevokedAt.IsZero() {
			t.RevokedAt = &c.RevokedAt
		}
		out = append(out, t)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p principal) error {
	id := r.PathValue("id")
	// Only tokens of an organisation the caller manages are found: others are not shown to exist.
	orgs := []string{p.cred.OrgID}
	if p.administrator() {
		all, err := s.store.Orgs(r.Context())
		if err != nil {
			return err
		}
		for _, o := range all {
			orgs = append(orgs, o.ID)
		}
	}
	for _, org := range orgs {
		if !p.manages(org) {
			continue
		}
		cs, err := s.store.Credentials(r.Context(), org, ledger.CredentialToken)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.ID == id {
				if err := s.store.RevokeCredential(r.Context(), id); err != nil {
					return err
				}
				s.log.Info("API token revoked", "token", id, "by", p.cred.ID)
				w.WriteHeader(http.StatusNoContent)
				return nil
			}
		}
	}
	return failf(http.StatusNotFound, "no token %q among those you manage: see `ledgerline admin token list`", id)
}

func (s *Server) createInvite(w http.ResponseWriter, r *http.Request, p principal) error {
	var req struct {
		Org       string `json:"org"`
		Role      string `json:"role"`
		ExpiresIn string `json:"expires_in"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	o, err := s.managedOrg(r, p, "org", req.Org)
	if err != nil {
		return err
	}
	role, err := parseMemberRole(req.Role)
	if err != nil {
		return err
	}
	life := DefaultInviteLifetime
	if req.ExpiresIn != "" {
		if life, err = time.ParseDuration(req.ExpiresIn); err != nil || life <= 0 || life > MaxInviteLifetime {
			return failf(http.StatusBadRequest, "expires_in %q: give a duration such as 72h, at most %s", req.ExpiresIn, MaxInviteLifetime)
		}
	}
	secret := newSecret()
	expires := s.now().Add(life).UTC()
	c := ledger.Credential{ID: newID("inv"), Digest: digest(secret), Kind: ledger.CredentialInvite, OrgID: o.ID, Role: role,
		Name: "invite", ExpiresAt: expires}
	if err := s.store.AddCredential(r.Context(), c); err != nil {
		return err
	}
	s.log.Info("invite created", "invite", c.ID, "org", o.ID, "role", string(role), "by", p.cred.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"id": c.ID, "link": s.base(r) + "/invite/" + secret, "org": o.ID,
		"role": string(role), "expires_at": expires})
	return nil
}

// dealJSON is a deal as the API shows it.
type dealJSON struct {
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	Account  string      `json:"account"`
	Vendor   string      `json:"vendor"`
	Partner  string      `json:"partner"`
	OwnerOrg string      `json:"owner_org"`
	Shares   []shareJSON `json:"shares"`
	Page     string      `json:"page"`
}

type shareJSON struct {
	Org   string `json:"org"`  // the organisation's ID
	Name  string `json:"name"` // and its name, for people to read
	Level string `json:"level"`
}

func (s *Server) dealJSON(r *http.Request, d ledger.Deal) (dealJSON, error) {
	shares, err := s.store.DealShares(r.Context(), d.ID)
	if err != nil {
		return dealJSON{}, err
	}
	out := dealJSON{ID: d.ID, Name: d.Name, Account: d.Account, Vendor: d.Vendor, Partner: d.Partner, OwnerOrg: d.OwnerOrg,
		Shares: make([]shareJSON, 0, len(shares)), Page: s.base(r) + "/d/" + url.PathEscape(d.ID)}
	for _, sh := range shares {
		name := sh.OrgID
		if o, err := s.store.Org(r.Context(), sh.OrgID); err == nil {
			name = o.Name
		}
		out.Shares = append(out.Shares, shareJSON{Org: sh.OrgID, Name: name, Level: string(sh.Level)})
	}
	return out, nil
}

func (s *Server) listDeals(w http.ResponseWriter, r *http.Request, p principal) error {
	ds, err := s.store.VisibleDeals(r.Context(), p.reader())
	if err != nil {
		return err
	}
	out := make([]dealJSON, 0, len(ds))
	for _, d := range ds {
		j, err := s.dealJSON(r, d)
		if err != nil {
			return err
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func parseLevel(v string) (ledger.ShareLevel, error) {
	switch l := ledger.ShareLevel(strings.ToLower(strings.TrimSpace(v))); l {
	case "":
		return ledger.ShareEdit, nil
	case ledger.ShareView, ledger.ShareEdit:
		return l, nil
	}
	return "", failf(http.StatusBadRequest, "level %q: use view or edit", v)
}

func (s *Server) createDeal(w http.ResponseWriter, r *http.Request, p principal) error {
	var req struct {
		ID           string `json:"id"`
		Name         string `json:"name"`
		Account      string `json:"account"`
		VendorOrg    string `json:"vendor_org"`
		PartnerOrg   string `json:"partner_org"`
		PartnerLevel string `json:"partner_level"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	if !server.ValidID(req.ID) {
		return failf(http.StatusBadRequest, "deal id %q: use 1-128 letters, digits, '.', '_', '~' or '-'", req.ID)
	}
	name, err := checkName("name", req.Name)
	if err != nil {
		return err
	}
	account, err := checkText("account", req.Account, true)
	if err != nil {
		return err
	}
	if req.VendorOrg == "" {
		req.VendorOrg = p.cred.OrgID
	}
	vendor, err := s.managedOrg(r, p, "vendor_org", req.VendorOrg)
	if err != nil {
		return err
	}
	var partner ledger.Org
	if req.PartnerOrg != "" {
		if partner, err = s.orgFor(r, p, "partner_org", req.PartnerOrg); err != nil {
			return err
		}
		if partner.ID == vendor.ID {
			return failf(http.StatusBadRequest, "partner_org %q is the deal's own organisation: name the partner, or leave it out", req.PartnerOrg)
		}
	}
	level, err := parseLevel(req.PartnerLevel)
	if err != nil {
		return err
	}
	d := ledger.Deal{ID: req.ID, Name: name, Account: account, Vendor: vendor.Name, Partner: partner.Name}
	if err := s.store.CreateDeal(r.Context(), d); err != nil {
		if errors.Is(err, ledger.ErrExists) {
			return failf(http.StatusConflict, "a deal with id %q exists already", d.ID)
		}
		return err
	}
	if err := s.store.SetDealOwner(r.Context(), d.ID, vendor.ID); err != nil {
		return err
	}
	if partner.ID != "" {
		if err := s.store.ShareDeal(r.Context(), ledger.DealShare{DealID: d.ID, OrgID: partner.ID, Level: level}); err != nil {
			return err
		}
	}
	s.log.Info("deal created", "deal", d.ID, "owner", vendor.ID, "partner", partner.ID, "by", p.cred.ID)
	return s.answerDeal(w, r, http.StatusCreated, d.ID)
}

// ownedDeal is the deal the request's path names, when the principal's organisation owns it (an
// administrator's too, for a deal of no owner); any other is not found, as the access rule has it.
func (s *Server) ownedDeal(r *http.Request, p principal) (ledger.Deal, error) {
	id := r.PathValue("id")
	d, err := s.store.Deal(r.Context(), id)
	if err != nil || !p.manages(d.OwnerOrg) || d.OwnerOrg == "" && !p.administrator() {
		if err == nil || errors.Is(err, ledger.ErrNotFound) {
			return ledger.Deal{}, failf(http.StatusNotFound, "no deal %q that your organisation owns", id)
		}
		return ledger.Deal{}, err
	}
	return d, nil
}

func (s *Server) shareDeal(w http.ResponseWriter, r *http.Request, p principal) error {
	var req struct {
		Org   string `json:"org"`
		Level string `json:"level"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	d, err := s.ownedDeal(r, p)
	if err != nil {
		return err
	}
	o, err := s.orgFor(r, p, "org", req.Org)
	if err != nil {
		return err
	}
	if o.ID == d.OwnerOrg {
		return failf(http.StatusBadRequest, "%q owns deal %q already: share it with another organisation", o.Name, d.ID)
	}
	level, err := parseLevel(req.Level)
	if err != nil {
		return err
	}
	if err := s.store.ShareDeal(r.Context(), ledger.DealShare{DealID: d.ID, OrgID: o.ID, Level: level}); err != nil {
		return err
	}
	s.log.Info("deal shared", "deal", d.ID, "org", o.ID, "level", string(level), "by", p.cred.ID)
	return s.answerDeal(w, r, http.StatusOK, d.ID)
}

func (s *Server) answerDeal(w http.ResponseWriter, r *http.Request, code int, id string) error {
	d, err := s.store.Deal(r.Context(), id)
	if err != nil {
		return err
	}
	j, err := s.dealJSON(r, d)
	if err != nil {
		return err
	}
	writeJSON(w, code, j)
	return nil
}
