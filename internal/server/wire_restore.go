package server

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/history"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/restore"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

// restoreSessions brings back the sessions that were live when the store
// was last used (see package restore), before the node serves requests, and
// arranges for a graceful shutdown with transcript-auto-save=0 to store
// every live session's transcript so the next start can restore it.
func (s *Server) restoreSessions(ctx context.Context, p *parts) error {
	p.saveLive = func(ctx context.Context) {
		if s.cfg.Load().Settings.TranscriptAutoSave != 0 {
			return // every event is stored already
		}
		n, err := p.history.SaveLive(ctx, s.engine.Sessions())
		if err != nil {
			s.log.Error("shutdown: live transcripts not all stored", "sessions", n, "err", err)
			return
		}
		s.log.Info("shutdown: stored the transcripts of the live sessions", "sessions", n)
	}
	start := time.Now()
	rep, err := restore.Run(ctx, restore.Options{
		Engine: s.engine, Store: p.store, Mode: s.cfg.Load().Settings.SessionRestorationMode,
		Strip: stripRoutingKeys, OnlineKey: routing.KeyIsOnline, Log: s.log, Keep: p.ha.keep,
	})
	if rep != (restore.Report{}) {
		s.log.Info("restoration at start", "mode", s.cfg.Load().Settings.SessionRestorationMode,
			"result", rep.String(), "took", time.Since(start).Round(time.Millisecond))
		p.say("restoration at start: %s", rep)
	}
	if err != nil {
		s.log.Error("restoration at start: some sessions failed", "err", err)
	}
	if p.customer != nil {
		// Clients that send their secure key alone find their chat again.
		for _, sess := range s.engine.Sessions() {
			p.customer.IndexKeys(sess.ID())
		}
	}
	return nil
}

// stripRoutingKeys leaves the session's own user data of an interaction's
// attached data.
func stripRoutingKeys(m kv.Map) {
	for _, k := range []string{routing.KeyAppName, routing.KeySessionID, routing.KeyIsOnline,
		routing.KeyAsyncStatus, routing.KeySessionPassword, routing.KeyContactID, routing.KeyWebapiToken} {
		delete(m, k)
	}
}

// closedAttached is the attached data stored with a closed session's
// record in its closing transaction: routing's keys, IsOnline=0.
func (p *parts) closedAttached(f *chat.Final) json.RawMessage {
	if p.router == nil {
		return nil
	}
	b, err := p.router.AttachedJSON(f.ID, map[string]any{routing.KeyIsOnline: "0"})
	if err != nil {
		return nil
	}
	return b
}

// resendPolicy is the live transcript-resend-attempts and
// transcript-resend-delay.
func (s *Server) resendPolicy() history.Resend {
	st := &s.cfg.Load().Settings // read on every durable event: not copied
	return history.Resend{Attempts: st.TranscriptResendAttempts, Delay: st.TranscriptResendDelay}
}

// writeFailed reports an event the store could not make durable, after its
// retries (transcript-resend-attempts): the engine has withdrawn it, so no
// party sees it and its sender was told. With transcript-save-on-error=close
// the session ends, its parties removed by the server (reason 5); with the
// default (none) it goes on without the event.
func (s *Server) writeFailed(sess *chat.Session, pos int, err error) {
	if errors.Is(err, store.ErrFenced) {
		s.parts.ha.fenced(sess.ID())
		return
	}
	s.log.Error("intermediate transcript: event not stored", "session", sess.ID(), "pos", pos, "err", err)
	if s.cfg.Load().Settings.TranscriptSaveOnError == "close" && sess.State() == chat.Alive {
		// transcript-save-on-error=close: a session whose transcript cannot
		// be kept ends, its parties removed by the server (reason 5).
		if _, _, cerr := sess.Close(chat.CloseRequest{Reason: chat.RemovedByServer}); cerr != nil {
			s.log.Error("transcript-save-on-error=close: close failed", "session", sess.ID(), "err", cerr)
		}
	}
}
