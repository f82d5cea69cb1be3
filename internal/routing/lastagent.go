package routing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/confab/confab/internal/store"
)

// lookupTimeout bounds one last-agent look-up; past it the interaction is
// routed to its queue.
const lookupTimeout = 3 * time.Second

// resolve looks up the last agent of rt's contact and then routes rt:
// to that agent first when it is ready with free capacity, else to its
// queue.
func (r *Router) resolve(rt *route) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	agentID, err := r.lastAgent(ctx, rt.id)
	cancel()
	if err != nil {
		r.log.Debug("routing: last agent look-up failed", "interaction", rt.id, "err", err)
	}
	d := &r.d
	d.mu.Lock()
	defer r.unlock()
	d.resolving--
	if d.routes[rt.id] != rt || !rt.resolving {
		return
	}
	rt.resolving = false
	q := r.queueLocked(rt.queue)
	d.pending[q] = true
	if a := d.agents[agentID]; agentID != "" && a != nil && a.available() && !a.assigned[rt.id] {
		if rt.e.idx >= 0 {
			q.waiting.remove(rt.e.idx)
		}
		r.offerLocked(rt.e, a, OfferLastAgent)
	}
}

// lastAgent looks up the last agent of interaction id's contact: from the
// contact the history tells (Options.LastAgentOf) for a session it tells,
// else by Options.LastAgent.
func (r *Router) lastAgent(ctx context.Context, id string) (string, error) {
	if r.opts.LastAgentOf == nil || !r.opts.HistoryTells {
		return r.opts.LastAgent(ctx, id)
	}
	contact, told, err := r.toldContact(ctx, id)
	switch {
	case err != nil:
		return "", fmt.Errorf("last agent of %s: %w", id, err)
	case !told:
		return r.opts.LastAgent(ctx, id)
	case contact == "":
		return "", nil
	}
	return r.opts.LastAgentOf(ctx, id, contact)
}

// toldContact waits, within ctx, until the history has told the contact of
// interaction id (LearnContact). told is false when the history tells
// nothing for it (a restored session, or one no longer here).
func (r *Router) toldContact(ctx context.Context, id string) (contact string, told bool, err error) {
	sh := r.shard(id)
	sh.mu.Lock()
	x := sh.m[id]
	if x == nil || !(x.awaitContact || x.contactKnown) {
		sh.mu.Unlock()
		return "", false, nil
	}
	if !x.contactKnown {
		if x.contactTold == nil {
			x.contactTold = make(chan struct{})
		}
		ch := x.contactTold
		sh.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return "", false, fmt.Errorf("the history did not tell the contact: %w", ctx.Err())
		}
		sh.mu.Lock()
	}
	contact = x.contactID
	sh.mu.Unlock()
	return contact, true, nil
}

// StoreLastAgent returns a LastAgent look-up over the store: it waits
// (polling, within ctx) until the contact history created the
// interaction's record, then takes the contact's most recently closed
// interaction and returns the last human agent that joined it with
// visibility ALL ("" when there is none).
func StoreLastAgent(st store.Interactions) func(ctx context.Context, id string) (string, error) {
	of := StoreLastAgentOf(st)
	return func(ctx context.Context, id string) (string, error) {
		var rec store.Interaction
		for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
			var err error
			rec, err = st.GetInteraction(ctx, id)
			if err == nil {
				break
			}
			if !errors.Is(err, store.ErrNotFound) {
				return "", fmt.Errorf("last agent of %s: %w", id, err)
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return "", fmt.Errorf("last agent of %s: record not created: %w", id, ctx.Err())
			}
		}
		if rec.ContactID == "" {
			return "", nil
		}
		return of(ctx, id, rec.ContactID)
	}
}

// StoreLastAgentOf returns a LastAgentOf look-up over the store: the
// contact's most recently closed interaction other than id, and the last
// human agent that joined it with visibility ALL ("" when there is none).
func StoreLastAgentOf(st store.Interactions) func(ctx context.Context, id, contactID string) (string, error) {
	return func(ctx context.Context, id, contactID string) (string, error) {
		list, err := st.ListInteractions(ctx, store.InteractionFilter{ContactID: contactID, Status: store.StatusClosed})
		if err != nil {
			return "", fmt.Errorf("last agent of %s: %w", id, err)
		}
		var prev *store.Interaction
		for i := range list {
			if list[i].ID != id && (prev == nil || list[i].ClosedAt.After(prev.ClosedAt)) {
				prev = &list[i]
			}
		}
		if prev == nil {
			return "", nil
		}
		full, err := st.GetInteraction(ctx, prev.ID)
		if err != nil {
			return "", fmt.Errorf("last agent of %s: %w", id, err)
		}
		return LastAgentOf(full.Transcript), nil
	}
}

// LastAgentOf returns the person id of the last human agent that joined a
// stored final transcript with visibility ALL, or "".
func LastAgentOf(transcript json.RawMessage) string {
	var t struct {
		Participants []struct {
			UserType   string `json:"userType"`
			Visibility string `json:"visibility"`
			Bot        bool   `json:"bot"`
			PersonID   string `json:"personId"`
			JoinedAt   int64  `json:"joinedAt"`
		} `json:"participants"`
	}
	if len(transcript) == 0 || json.Unmarshal(transcript, &t) != nil {
		return ""
	}
	best, at := "", int64(-1)
	for _, p := range t.Participants {
		if p.UserType == "AGENT" && !p.Bot && p.PersonID != "" && p.Visibility != "INT" && p.Visibility != "VIP" && p.JoinedAt >= at {
			best, at = p.PersonID, p.JoinedAt
		}
	}
	return best
}
