package routing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/store"
)

// Waiting returns the queued interactions of a queue ("" for every queue),
// oldest first.
// In a cluster the other live nodes' queued interactions are listed too.
func (r *Router) Waiting(queue string) []Interaction {
	out := r.live(func(x *ixn) bool {
		return !x.closed && x.state() == Queued && (queue == "" || x.view.Queue == queue)
	})
	if r.opts.Share != nil {
		out = append(out, r.foreignWaiting(queue)...)
		sortInteractions(out)
	}
	return out
}

// live returns the snapshots of the in-memory interactions keep selects,
// ordered by creation time, then id.
func (r *Router) live(keep func(*ixn) bool) []Interaction {
	var out []Interaction
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		for _, x := range sh.m {
			if keep(x) {
				out = append(out, r.snap(x))
			}
		}
		sh.mu.Unlock()
	}
	sortInteractions(out)
	return out
}

func sortInteractions(list []Interaction) {
	slices.SortFunc(list, func(a, b Interaction) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// Filter selects interactions for List. Empty fields match everything.
type Filter struct {
	Queue string
	State State
	// Limit caps the number returned (oldest first); 0 means no cap.
	Limit int
	// After, when set, pages: only interactions created after the one with
	// this id (in the list's order, creation time then id) are returned,
	// the oldest first. ErrNotFound if there is no such interaction.
	After string
}

// List returns the interactions matching f: the live ones from memory and
// the others (ended, or served by another node) from the store, ordered by
// creation time, then id. When there are more than f.Limit, the live ones
// are all kept and the oldest of the others dropped.
func (r *Router) List(ctx context.Context, f Filter) ([]Interaction, error) {
	match := func(v *Interaction) bool {
		return (f.Queue == "" || v.Queue == f.Queue) && (f.State == "" || v.State == f.State)
	}
	if f.After != "" {
		cur, err := r.cursor(ctx, f.After)
		if err != nil {
			return nil, err
		}
		inner := match
		match = func(v *Interaction) bool {
			return inner(v) && (v.CreatedAt.After(cur.CreatedAt) || (v.CreatedAt.Equal(cur.CreatedAt) && v.ID > cur.ID))
		}
	}
	live := r.live(func(x *ixn) bool {
		v := x.view
		v.State = x.state()
		return match(&v)
	})
	var stored []Interaction
	if r.opts.Store != nil {
		sf := store.InteractionFilter{Queue: f.Queue, State: string(f.State), Limit: f.Limit, AfterID: f.After}
		if f.After != "" && f.Limit > 0 {
			sf.Limit += len(live) // live ones are in the store too and are skipped below
		}
		recs, err := r.opts.Store.ListInteractions(ctx, sf)
		if err != nil {
			return nil, fmt.Errorf("list interactions: %w", err)
		}
		seen := make(map[string]bool, len(live))
		for _, v := range live {
			seen[v.ID] = true
		}
		for i := range recs {
			if seen[recs[i].ID] {
				continue
			}
			if v := fromRecord(&recs[i]); match(&v) {
				stored = append(stored, v)
			}
		}
		sortInteractions(stored)
	}
	if f.After != "" { // a page: the oldest first, up to the limit
		out := append(live, stored...)
		sortInteractions(out)
		if f.Limit > 0 && len(out) > f.Limit {
			out = out[:f.Limit]
		}
		return out, nil
	}
	if f.Limit > 0 && len(live)+len(stored) > f.Limit {
		keep := max(f.Limit-len(live), 0)
		stored = stored[len(stored)-keep:]
	}
	out := append(live, stored...)
	sortInteractions(out)
	return out, nil
}

// cursor returns the interaction a page starts after: the live one, else
// the stored record.
func (r *Router) cursor(ctx context.Context, id string) (Interaction, error) {
	sh := r.shard(id)
	sh.mu.Lock()
	if x := sh.m[id]; x != nil {
		v := x.view
		sh.mu.Unlock()
		return v, nil
	}
	sh.mu.Unlock()
	if r.opts.Store != nil {
		rec, err := r.opts.Store.GetInteraction(ctx, id)
		if err == nil {
			return fromRecord(&rec), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return Interaction{}, fmt.Errorf("list interactions after %s: %w", id, err)
		}
	}
	return Interaction{}, fmt.Errorf("list interactions after %s: %w", id, ErrNotFound)
}

// fromRecord rebuilds an Interaction from its stored record.
func fromRecord(rec *store.Interaction) Interaction {
	v := Interaction{
		ID: rec.ID, SessionID: rec.SessionID, Tenant: rec.Tenant, Endpoint: rec.Endpoint,
		Queue: rec.Queue, Subject: rec.Subject, State: State(rec.State),
		CreatedAt: rec.CreatedAt, ClosedAt: rec.ClosedAt,
	}
	if len(rec.UserData) > 0 {
		if ud, err := kv.FromJSON(rec.UserData); err == nil {
			v.UserData = ud
		}
	}
	if v.UserData == nil {
		v.UserData = kv.Map{}
	}
	v.Online = rec.Status != store.StatusClosed && v.UserData.String(KeyIsOnline) != "0"
	if s := v.UserData.String(KeyAsyncStatus); s != "" {
		v.Async = true
		v.AsyncStatus, _ = strconv.Atoi(s)
	}
	if !v.Online && v.State != Stopped {
		v.State = Offline
	}
	return v
}
