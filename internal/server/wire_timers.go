package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/push"
)

// buildTimers switches on the engine's session timers — inactivity
// control, async idle control, flex-disconnect-timeout and
// flex-push-timeout, all on one node-wide scheduler — and language
// resolution, on the live configuration so reloads apply at the next
// activity or expiry. At shutdown the timers stop first, so no session
// times out while the node winds down.
func (s *Server) buildTimers(p *parts) error {
	s.pinger = &pushPinger{log: s.log.With("part", "push-ping")}
	s.engine.SetTimers(chatTimerOptions(s, s.pinger))
	p.add(config.PortWebAPI, noRoutes{}, func(context.Context) { s.engine.StopTimers() })
	return nil
}

// PushPings returns how many flex-push-timeout pings the node has sent.
func (s *Server) PushPings() uint64 {
	if s.pinger == nil {
		return 0
	}
	return s.pinger.sent.Load()
}

// pushPinger counts the flex-push-timeout pings and sends each through the
// push notifications (wire_files.go sets to), which post it to the
// customer's custom-HTTP URL when the customer is subscribed there.
type pushPinger struct {
	log  *slog.Logger
	sent atomic.Uint64
	to   atomic.Pointer[push.Service]
}

func (p *pushPinger) Ping(sessionID, userID string) {
	p.sent.Add(1)
	if svc := p.to.Load(); svc != nil && svc.Ping(sessionID) {
		return
	}
	p.log.Info("flex-push-timeout: ping to a customer with no custom-HTTP push subscription (logged only)", "session", sessionID, "user", userID)
}

// noRoutes is an adapter that mounts nothing; it carries a shutdown hook.
type noRoutes struct{}

func (noRoutes) Register(*http.ServeMux) {}

func chatTimerOptions(s *Server, p *pushPinger) chat.TimerOptions {
	return chat.TimerOptions{
		Config: s.Config,
		Pinger: p,
		Warn:   s.log.With("part", "timers").Warn,
	}
}
