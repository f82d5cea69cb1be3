package cluster_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/cluster"
	"github.com/confab/confab/internal/store"
)

// slowRenewals is the real PostgreSQL store with lease renewals that take
// time on the node's fake clock (a loaded store answers late): every
// PutNode first checks, in the store, that the node's previous lease has
// not ended yet (another node looking now would see it alive), then lets
// took(k) pass on the clock, then writes. When the context the cluster
// gives the renewal ends first (its deadline on the same clock), the
// renewal fails as a timed-out one does.
type slowRenewals struct {
	store.Ownership
	t    *testing.T
	clk  *clock.Fake
	took func(k int) time.Duration

	mu    sync.Mutex // guards the following
	calls int
	gaps  []string
}

func (s *slowRenewals) PutNode(ctx context.Context, n store.Node) error {
	s.mu.Lock()
	s.calls++
	k := s.calls
	s.mu.Unlock()
	now := s.clk.Now()
	if prev, err := s.Ownership.GetNode(ctx, n.ID); err == nil && !now.Before(prev.LeaseUntil) {
		s.mu.Lock()
		s.gaps = append(s.gaps, "renewal "+strconv.Itoa(k)+" started "+now.Sub(prev.LeaseUntil).String()+" after the lease ended")
		s.mu.Unlock()
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.t.Error(err)
	}
	d := s.took(k)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		// A deadline (of real time) that comes before the answer: the
		// renewal times out when it passes.
		s.clk.Advance(time.Until(dl))
		return context.DeadlineExceeded
	}
	if d > 0 {
		s.clk.Advance(d) // the store answers d later
	}
	if err := ctx.Err(); err != nil {
		return err // the renewal's deadline (on the clock) passed meanwhile
	}
	return s.Ownership.PutNode(context.Background(), n)
}

func (s *slowRenewals) result() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, append([]string(nil), s.gaps...)
}

// TestLeaseSurvivesSlowRenewals is lead finding 7's mechanism: under load a
// live node's lease ended and another node claimed its sessions (epochs
// 1→2→3 in TestClusterScaleSIGKILL) because one slow renewal was enough:
// the renewal was given a third of the lease, and the next one was
// scheduled a third of the lease after the previous one ENDED, so a
// renewal that timed out (or merely took longer than a third) left the
// node without a lease before the next began. Now a renewal may take
// until the lease it extends ends, and the next one starts a third of the
// lease after the previous one STARTED (at once when that has passed). On
// the fake clock: renewals that take 70% of the lease, one that takes 95%
// (still inside the lease), and a store that answers at once again; at no
// renewal's start has the previous lease ended. A renewal that takes
// longer than the lease fails (its deadline), and the node renews again
// soon after.
func TestLeaseSurvivesSlowRenewals(t *testing.T) {
	const lease = 3 * time.Second
	cases := []struct {
		name   string
		took   func(k int) time.Duration
		passes int // renewals at least, in the clock's 8 s
	}{
		// A loaded store: every renewal takes a fifth of the lease, one
		// half of it. The old schedule timed the slow one out after a
		// third and began the next one after the lease had ended.
		{"renewals take 20% of the lease, one 50%", func(k int) time.Duration {
			switch {
			case k == 1:
				return 0 // the registration at Start
			case k == 4:
				return lease / 2
			}
			return lease / 5
		}, 6},
		{"one renewal takes 60% of the lease", func(k int) time.Duration {
			if k == 3 {
				return lease * 6 / 10
			}
			return 0
		}, 6},
		// Longer than the lease it extends: that renewal fails at the
		// lease's end, the node is without a lease once, the next renewal
		// comes soon after and holds.
		{"a renewal takes longer than the lease", func(k int) time.Duration {
			if k == 3 {
				return lease * 3 / 2
			}
			return 0
		}, 6},
	}
	st := openStore(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			slow := &slowRenewals{Ownership: st, t: t, clk: clk, took: tc.took}
			id := "renew-" + strconv.Itoa(i)
			c := cluster.New(cluster.Options{Store: slow, Clock: clk, NodeID: id, Lease: lease})
			ctx := context.Background()
			if err := c.Start(ctx, map[string]string{"webapi": "http://127.0.0.1:1"}); err != nil {
				t.Fatal(err)
			}
			defer c.Stop(ctx)
			for range tc.passes * 3 {
				clk.Advance(lease / 9)
			}
			calls, gaps := slow.result()
			if calls < tc.passes {
				t.Errorf("%d renewals in %v of a %v lease; want ≥ %d", calls, time.Duration(tc.passes)*lease/3, lease, tc.passes)
			}
			overlong := tc.took(3) > lease
			switch {
			case !overlong && len(gaps) > 0:
				t.Errorf("the lease ended while the node was alive: %v", gaps)
			case overlong && len(gaps) > 1:
				t.Errorf("after a renewal longer than the lease: gaps %v, want at most one", gaps)
			}
			n, err := st.GetNode(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !clk.Now().Before(n.LeaseUntil) {
				t.Errorf("at the end the lease ended at %v, now %v", n.LeaseUntil, clk.Now())
			}
		})
	}
}
