package push

import (
	"context"
	"encoding/json"
)

// Sessions that move between nodes. The outbox is shared by the nodes of a
// cluster, so a pending reliable notification must be resent by exactly one
// of them: the session's owner. Options.Owner says whether this node owns a
// session now (asked of the store, so a node that was paused past its lease
// learns it lost the session before it resends anything); Load takes only
// the records of the sessions this node owns, a resend falls due only on
// the owner (another node's session is forgotten instead, its record left
// to the owner), Forget drops a session another node took over, and Adopt
// makes the node that restored a session carry on with the pending
// notification where the previous owner left it (same attempt count, same
// schedule) instead of starting again.

// owned reports whether this node owns the session now; without an Owner
// hook (a single node) it always does. An error answers yes: a resend too
// many is better than a notification lost while the store is unreachable.
func (s *Service) owned(ctx context.Context, sessionID string) bool {
	if s.opts.Owner == nil {
		return true
	}
	ok, err := s.opts.Owner(ctx, sessionID)
	if err != nil {
		s.log.Warn("push: session owner unknown; resending", "session", sessionID, "err", err)
		return true
	}
	return ok
}

// Forget drops a session's subscription and its pending notification
// without touching its outbox record: another node owns the session now.
func (s *Service) Forget(sessionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.unsaved, sessionID)
	if _, ok := s.refused[sessionID]; ok {
		delete(s.refused, sessionID)
		s.nrefused.Store(int64(len(s.refused)))
	}
	if sb := s.subs[sessionID]; sb != nil {
		s.stopLocked(sb)
		delete(s.subs, sessionID)
		s.nsubs.Store(int64(len(s.subs)))
		s.stats.Moved++
	}
}

// Adopt takes over the pending reliable notification of a session this
// node has just restored from another node: the resends go on from the
// attempt reached, at the time they were due. A session whose customer
// already has a notification pending here keeps it. It reports whether a
// record was adopted.
func (s *Service) Adopt(ctx context.Context, sessionID string) (bool, error) {
	if s.opts.Outbox == nil {
		return false, nil
	}
	items, err := s.opts.Outbox.ListOutbox(ctx, OutboxKind)
	if err != nil {
		return false, err
	}
	for _, it := range items {
		if it.Key != sessionID {
			continue
		}
		var r record
		if err := json.Unmarshal(it.Value, &r); err != nil || r.SessionID != sessionID || !r.Pending {
			return false, nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return false, nil
		}
		cfg := s.opts.Config()
		sb := s.subs[sessionID]
		switch {
		case sb == nil:
			sb = &r
			s.subs[sessionID] = sb
			s.nsubs.Store(int64(len(s.subs)))
		case sb.Pending:
			return false, nil // a trigger of this node's is out already
		default:
			sb.Pending, sb.NotifyPos, sb.Attempt, sb.Due = true, r.NotifyPos, r.Attempt, r.Due
			if sb.UserID == "" {
				sb.UserID = r.UserID
			}
		}
		s.armLocked(cfg, sb, max(sb.Due.Sub(s.opts.Clock.Now()), 0))
		return true, nil
	}
	return false, nil
}
