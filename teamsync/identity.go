package teamsync

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Caller is who the client's token is on the server.
type Caller struct {
	Name string
	// Org is the name of the token's organisation; "" for the server's administrator, who acts
	// for none.
	Org string
}

// Me asks the server who the client's token is, so that a laptop names its organisation as the
// server does. A token the server refuses is ErrUnauthorized.
func (c *Client) Me(ctx context.Context) (Caller, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.server+"/api/v1/me", nil)
	if err != nil {
		return Caller{}, fmt.Errorf("teamsync: %w", err)
	}
	var me Caller
	err = c.roundTrip(req, "", func(body io.Reader, _ string) error {
		var ans struct {
			Name string
			Org  *struct{ Name string }
		}
		if err := json.NewDecoder(io.LimitReader(body, maxAnswer)).Decode(&ans); err != nil {
			return fmt.Errorf("teamsync: %s: reading who the token is: %w", c.server, err)
		}
		me.Name = ans.Name
		if ans.Org != nil {
			me.Org = ans.Org.Name
		}
		return nil
	})
	return me, err
}
