package push

// The outbox: pending reliable notifications written to the store so a
// restart (or, in a cluster, the node that restores a session) resends them
// where the previous run left off. Writes are made off the service's lock by
// one goroutine (persist) that drains the set of sessions marked unsaved.

import (
	"context"
	"encoding/json"

	"github.com/confab/confab/internal/store"
)

// record is a pending notification as the outbox keeps it.
type record = sub

// markLocked notes that a session's outbox record must be written (keep)
// or deleted.
func (s *Service) markLocked(sessionID string, keep bool) {
	if s.opts.Outbox == nil {
		return
	}
	s.unsaved[sessionID] = keep
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}

// persist writes the unsaved outbox records until Close, then once more.
func (s *Service) persist() {
	defer s.wg.Done()
	for {
		select {
		case <-s.dirty:
			s.flush()
		case <-s.ctx.Done():
			s.flush()
			return
		}
	}
}

func (s *Service) flush() {
	s.mu.Lock()
	work := s.unsaved
	s.unsaved = map[string]bool{}
	recs := map[string][]byte{}
	for id, keep := range work {
		if sb := s.subs[id]; keep && sb != nil && sb.Pending {
			b, _ := json.Marshal((*record)(sb))
			recs[id] = b
		}
	}
	s.mu.Unlock()
	ctx := context.WithoutCancel(s.ctx)
	for id := range work {
		var err error
		if b, ok := recs[id]; ok {
			err = s.opts.Outbox.PutOutbox(ctx, store.OutboxItem{Kind: OutboxKind, Key: id, Value: b})
		} else {
			err = s.opts.Outbox.DeleteOutbox(ctx, OutboxKind, id)
		}
		if err != nil {
			s.log.Error("push: outbox write failed", "session", id, "err", err)
		}
	}
}

// Load restores the pending reliable notifications of a previous run from
// the outbox: each keeps its attempt count and resumes its resend schedule
// where it was (a resend that fell due while the node was down is made at
// once).
func (s *Service) Load(ctx context.Context) (int, error) {
	if s.opts.Outbox == nil {
		return 0, nil
	}
	items, err := s.opts.Outbox.ListOutbox(ctx, OutboxKind)
	if err != nil {
		return 0, err
	}
	// In a cluster the outbox holds every node's records: this node takes
	// those of its own sessions (handover.go).
	mine := make([]bool, len(items))
	for i, it := range items {
		mine[i] = s.owned(ctx, it.Key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := s.opts.Config()
	n := 0
	for i, it := range items {
		if !mine[i] {
			continue
		}
		var r record
		if err := json.Unmarshal(it.Value, &r); err != nil || r.SessionID == "" || !r.Pending {
			s.log.Warn("push: unreadable outbox record dropped", "key", it.Key, "err", err)
			s.markLocked(it.Key, false)
			continue
		}
		sb := &r
		if old := s.subs[sb.SessionID]; old != nil {
			continue
		}
		s.subs[sb.SessionID] = sb
		s.nsubs.Store(int64(len(s.subs)))
		s.armLocked(cfg, sb, max(sb.Due.Sub(s.opts.Clock.Now()), 0))
		n++
	}
	return n, nil
}
