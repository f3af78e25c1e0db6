package teamsync

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/ledgerline/ledgerline/ledger"
)

// maxDeals bounds the answer of the deals a token can see.
const maxDeals = 4 << 20

// Deal returns the deal with the given ID as the server keeps it, among those the client's token
// can see: its name and the organisations on each side, so that a laptop names them as the server
// does. A deal the token cannot see is ledger.ErrNotFound.
func (c *Client) Deal(ctx context.Context, id string) (ledger.Deal, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.server+"/api/v1/deals", nil)
	if err != nil {
		return ledger.Deal{}, fmt.Errorf("teamsync: %w", err)
	}
	var deal *ledger.Deal
	err = c.roundTrip(req, "", func(body io.Reader, _ string) error {
		var deals []struct {
			ID, Name, Account, Vendor, Partner string
		}
		if err := json.NewDecoder(io.LimitReader(body, maxDeals)).Decode(&deals); err != nil {
			return fmt.Errorf("teamsync: %s: reading its deals: %w", c.server, err)
		}
		for _, d := range deals {
			if d.ID == id {
				deal = &ledger.Deal{ID: d.ID, Name: d.Name, Account: d.Account, Vendor: d.Vendor, Partner: d.Partner}
			}
		}
		return nil
	})
	if err != nil {
		return ledger.Deal{}, err
	}
	if deal == nil {
		return ledger.Deal{}, fmt.Errorf("teamsync: deal %q on %s: %w", id, c.server, ledger.ErrNotFound)
	}
	return *deal, nil
}
