package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

// Routing across the cluster (routing.Share over store.RouteShare): this
// node's queued interactions are written to the store's shared routes by
// one background writer (coalesced: only an interaction's last change is
// written); every poll interval the other live nodes' routes are read and
// handed to the router as foreign routes; an offer's reservation is a
// compare-and-set in the store, the reservations and releases of one
// interaction applied in the order they were asked (a release never
// overtakes the next reservation), on their own goroutine per
// interaction.

// DefaultRoutePoll is how often the other nodes' queued interactions are
// read.
const DefaultRoutePoll = 500 * time.Millisecond

// RouteShareOptions configure a RouteShare.
type RouteShareOptions struct {
	Store  store.RouteShare
	NodeID string
	Clock  clock.Clock
	// Poll is how often the other nodes' routes are read; default
	// DefaultRoutePoll. 0 or less with Manual: only Poll reads them.
	Poll   time.Duration
	Manual bool
	Log    *slog.Logger
}

// RouteShare is a node's part of the cluster's routing. Safe for
// concurrent use; its routing.Share methods never block.
type RouteShare struct {
	opts RouteShareOptions

	mu      sync.Mutex // guards the following
	router  *routing.Router
	put     map[string]store.SharedRoute
	del     map[string]bool
	writing bool
	ops     map[string][]resOp // reservations and releases in order, by interaction
	timer   clock.Timer
	stopped bool

	wg   sync.WaitGroup // the writer, the reservation workers
	quit chan struct{}  // closed by Stop
}

// resOp is a reservation (done set) or a release of one interaction.
type resOp struct {
	ttl  time.Duration
	done func(bool)
}

// NewRouteShare returns a node's RouteShare; Start connects it to the
// router.
func NewRouteShare(opts RouteShareOptions) *RouteShare {
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	if opts.Poll <= 0 && !opts.Manual {
		opts.Poll = DefaultRoutePoll
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &RouteShare{opts: opts, quit: make(chan struct{}), put: map[string]store.SharedRoute{}, del: map[string]bool{}, ops: map[string][]resOp{}}
}

var _ routing.Share = (*RouteShare)(nil)

// Reset clears what a previous run of this node shared (its restored
// sessions are shared again as they are queued); call it before the
// router has sessions.
func (s *RouteShare) Reset(ctx context.Context) error {
	return s.opts.Store.ClearRoutes(ctx, s.opts.NodeID)
}

// Start starts polling the other nodes' routes into r.
func (s *RouteShare) Start(r *routing.Router) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.router = r
	if s.opts.Poll > 0 && !s.stopped {
		s.timer = s.opts.Clock.AfterFunc(s.opts.Poll, s.tick)
	}
}

func (s *RouteShare) tick() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := s.Poll(ctx); err != nil {
		s.opts.Log.Warn("cluster routing: the other nodes' queues not read", "err", err)
	}
	cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped {
		s.timer = s.opts.Clock.AfterFunc(s.opts.Poll, s.tick)
	}
}

// Poll reads the other live nodes' queued interactions into the router
// and retries this node's routes another node held back.
func (s *RouteShare) Poll(ctx context.Context) error {
	s.mu.Lock()
	r := s.router
	s.mu.Unlock()
	if r == nil {
		return nil
	}
	list, err := s.opts.Store.ListRoutes(ctx, s.opts.NodeID, s.opts.Clock.Now())
	if err != nil {
		return err
	}
	fs := make([]routing.Foreign, 0, len(list))
	for _, sr := range list {
		var in routing.Interaction
		if err := json.Unmarshal(sr.Interaction, &in); err != nil || in.ID != sr.ID {
			s.opts.Log.Warn("cluster routing: a shared route not readable", "interaction", sr.ID, "node", sr.Node, "err", err)
			continue
		}
		f := routing.Foreign{Interaction: in, Node: sr.Node, Since: sr.Since}
		if sr.OfferedBy != s.opts.NodeID {
			f.OfferedBy = sr.OfferedBy
		}
		fs = append(fs, f)
	}
	r.SetForeign(fs)
	r.RetryBlocked()
	return nil
}

// Stop ends the polling and waits for the writes and reservations in
// flight.
func (s *RouteShare) Stop() {
	s.mu.Lock()
	if !s.stopped {
		close(s.quit)
	}
	s.stopped = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Flush waits until what was queued and withdrawn so far is written
// (tests), or ctx ends.
func (s *RouteShare) Flush(ctx context.Context) error {
	for {
		s.mu.Lock()
		idle := !s.writing && len(s.ops) == 0
		s.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Queued shares a queued interaction; see routing.Share.
func (s *RouteShare) Queued(in routing.Interaction, since time.Time) {
	b, err := json.Marshal(in)
	if err != nil {
		s.opts.Log.Error("cluster routing: interaction not encoded", "interaction", in.ID, "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put[in.ID] = store.SharedRoute{ID: in.ID, Node: s.opts.NodeID, Queue: in.Queue, Since: since, Interaction: b}
	delete(s.del, in.ID)
	s.kickLocked()
}

// Dequeued withdraws a shared interaction; see routing.Share.
func (s *RouteShare) Dequeued(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.put, id)
	s.del[id] = true
	s.kickLocked()
}

func (s *RouteShare) kickLocked() {
	if s.writing || s.stopped {
		return
	}
	s.writing = true
	s.wg.Add(1)
	go s.write()
}

// write writes the pending changes until there are none.
func (s *RouteShare) write() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if len(s.put) == 0 && len(s.del) == 0 {
			s.writing = false
			s.mu.Unlock()
			return
		}
		put := make([]store.SharedRoute, 0, len(s.put))
		for _, r := range s.put {
			put = append(put, r)
		}
		del := make([]string, 0, len(s.del))
		for id := range s.del {
			del = append(del, id)
		}
		s.put, s.del = map[string]store.SharedRoute{}, map[string]bool{}
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := s.opts.Store.PutRoutes(ctx, s.opts.NodeID, put, del)
		cancel()
		if err == nil {
			continue
		}
		s.opts.Log.Warn("cluster routing: queued interactions not shared; retrying", "put", len(put), "deleted", len(del), "err", err)
		s.mu.Lock()
		for _, r := range put { // unless changed meanwhile
			if _, ok := s.put[r.ID]; !ok && !s.del[r.ID] {
				s.put[r.ID] = r
			}
		}
		for _, id := range del {
			if _, ok := s.put[id]; !ok {
				s.del[id] = true
			}
		}
		stopped := s.stopped
		s.mu.Unlock()
		if stopped || errorsIsClosed(err) {
			s.mu.Lock()
			s.writing = false
			s.mu.Unlock()
			return
		}
		s.sleep(time.Second)
	}
}

// Reserve asks for an offer's reservation; see routing.Share.
func (s *RouteShare) Reserve(id string, ttl time.Duration, done func(bool)) {
	s.enqueue(id, resOp{ttl: ttl, done: done})
}

// Release gives a reservation back; see routing.Share.
func (s *RouteShare) Release(id string) { s.enqueue(id, resOp{}) }

func (s *RouteShare) enqueue(id string, op resOp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return // shutting down: a pending offer stays so, a reservation expires
	}
	q := s.ops[id]
	s.ops[id] = append(q, op)
	if len(q) == 0 {
		s.wg.Add(1)
		go s.runOps(id)
	}
}

// runOps applies one interaction's reservations and releases in order.
func (s *RouteShare) runOps(id string) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		q := s.ops[id]
		if len(q) == 0 {
			delete(s.ops, id)
			s.mu.Unlock()
			return
		}
		op := q[0]
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if op.done == nil {
			if err := s.opts.Store.ReleaseRoute(ctx, id, s.opts.NodeID); err != nil && !errorsIsClosed(err) {
				s.opts.Log.Warn("cluster routing: offer reservation not released (it expires)", "interaction", id, "err", err)
			}
		} else {
			now := s.opts.Clock.Now()
			ok, err := s.opts.Store.ReserveRoute(ctx, id, s.opts.NodeID, now, now.Add(op.ttl))
			if err != nil && !errorsIsClosed(err) {
				s.opts.Log.Warn("cluster routing: offer not reserved", "interaction", id, "err", err)
			}
			op.done(ok && err == nil)
		}
		cancel()
		s.mu.Lock()
		s.ops[id] = s.ops[id][1:]
		s.mu.Unlock()
	}
}

func (s *RouteShare) sleep(d time.Duration) {
	done := make(chan struct{})
	t := s.opts.Clock.AfterFunc(d, func() { close(done) })
	defer t.Stop()
	select {
	case <-done:
	case <-s.quit:
	}
}

func errorsIsClosed(err error) bool { return errors.Is(err, store.ErrClosed) }

// ClaimDesk claims the agent's desk for this node; see routing.Share. A
// holder whose lease runs but whose agent listener does not answer (a
// node killed a moment ago) is taken over, so a desktop moving to another
// node after its node died gets its desk at once. A store that keeps no
// desks, or fails, lets the desk be (routing goes on).
func (s *RouteShare) ClaimDesk(agentID string) (string, bool) {
	ds, ok := s.opts.Store.(store.DeskShare)
	if !ok {
		return "", true
	}
	var b [12]byte
	rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	holder, ok, err := ds.ClaimDesk(ctx, agentID, s.opts.NodeID, token, "", s.opts.Clock.Now())
	if err != nil {
		s.opts.Log.Warn("cluster routing: the agent's desk not claimed; logged in here anyway", "agent", agentID, "err", err)
		return "", true
	}
	if ok {
		return token, true
	}
	if own, isOwn := s.opts.Store.(store.Ownership); isOwn {
		if n, err := own.GetNode(ctx, holder); err == nil && reachable(n.URLs["agent"]) {
			return "", false // logged in on a live node
		}
		if _, ok, err = ds.ClaimDesk(ctx, agentID, s.opts.NodeID, token, holder, s.opts.Clock.Now()); err == nil && ok {
			s.opts.Log.Info("cluster routing: desk taken over from a node that does not answer", "agent", agentID, "node", holder)
			return token, true
		}
	}
	return "", false
}

// ReleaseDesk ends a desk claim; see routing.Share.
func (s *RouteShare) ReleaseDesk(agentID, token string) {
	ds, ok := s.opts.Store.(store.DeskShare)
	if !ok || token == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ds.ReleaseDesk(ctx, agentID, token); err != nil && !errorsIsClosed(err) {
		s.opts.Log.Warn("cluster routing: the agent's desk not released (taken over once this node is gone)", "agent", agentID, "err", err)
	}
}
