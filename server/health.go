package server

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"time"
)

// healthTimeout bounds the health check's read: a store that takes longer is reported unhealthy
// rather than holding the prober's request, which would otherwise time out with no reason given.
const healthTimeout = 2 * time.Second

// healthMeeting is the meeting the health check reads. No event of any meeting lies after the
// largest sequence number, so the read touches only the index, however long the record.
const healthMeeting = "healthz"

// registerHealth registers GET /healthz, for load balancers and orchestrators. It needs no token:
// it says only whether the store answers, and nothing of the meetings or of the store itself.
func (s *Server) registerHealth(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", s.serveHealth)
}

// health is the answer of /healthz.
type health struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	code, h := http.StatusOK, health{Status: "ok"}
	if _, err := s.cfg.Log.Since(ctx, healthMeeting, math.MaxInt64); err != nil {
		// The error may name the database's file or host: it is logged, not shown. Probes come every
		// few seconds while the store is down, so the log gets one line per interval, not each.
		s.warn.warn("health check failed", "", r.RemoteAddr, "err", err)
		code, h = http.StatusServiceUnavailable, health{Status: "unhealthy", Reason: "the meeting store does not answer"}
	}
	body, _ := json.Marshal(h) // two strings always encode
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}
