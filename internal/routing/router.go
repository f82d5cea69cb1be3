package routing

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/jsonw"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/store"
)

// Options configure a Router.
type Options struct {
	// Engine is the chat engine whose sessions the Router routes. Accept
	// joins sessions through it.
	Engine *chat.Engine
	// Store keeps the interaction records; nil keeps them in memory only.
	// The history journal creates each record; the Router updates its
	// State and UserData.
	Store store.Interactions
	// AppName is the value of ChatServerAppName; default "confab".
	AppName string
	// StopMode returns the live stop-abandoned-interaction value; default
	// never.
	StopMode func() config.StopMode
	Clock    clock.Clock  // default: the engine's clock
	Log      *slog.Logger // default: discard
	// History is how many recent changes the stream keeps for clients that
	// resume with Last-Event-ID; default 1024.
	History int

	// OfferTimeout returns the live [routing] offer-timeout; default 15s.
	OfferTimeout func() time.Duration
	// LastAgentTimeout returns the live [routing] last-agent-timeout;
	// default 20s; 0 switches the last-agent preference off.
	LastAgentTimeout func() time.Duration
	// BotFirst reports [routing:<queue>] bot-first.
	BotFirst func(queue string) bool
	// LastAgent looks up the agent who handled the previous chat of the
	// interaction's contact (see StoreLastAgent); nil skips the look-up.
	// It runs on its own goroutine while the interaction waits.
	LastAgent func(ctx context.Context, interactionID string) (string, error)
	// LastAgentOf, when set with HistoryTells, is the look-up from the
	// contact the history told (LearnContact; see StoreLastAgentOf): a
	// new session's look-up waits to be told its contact instead of
	// reading its record until the history has created it (LastAgent
	// still serves the sessions the history does not tell: restored ones).
	LastAgentOf func(ctx context.Context, interactionID, contactID string) (string, error)
	// Epoch, when set, gives the owner epoch each interaction update
	// carries (the cluster's fencing, store.Interaction.Epoch); 0 writes
	// unfenced.
	Epoch func(interactionID string) int64
	// Fenced, when set, is told of an interaction whose update the store
	// refused as fenced: another node owns the session now. The Router
	// stops writing it.
	Fenced func(interactionID string)
	// Located, when set, says where an interaction's session lives, for
	// its attached data (in a cluster: node, put as ChatServerAppName, the
	// node that owns it, and token, put as ChatServerWebapiToken; "" for
	// none), so a desktop finds the session's node after a restoration or
	// hand-over. It is called with a shard lock held and must not block.
	Located func(interactionID string) (node, token string)
	// Share, when set, routes across a cluster: this node's queued
	// interactions are offered to agents on every node and the other
	// nodes' to agents here, each offer reserved cluster-wide (share.go).
	Share Share
	// HistoryTells says the contact history calls LearnContact once the
	// record of every new (not restored) session is created, and
	// RecordClosed once a closed session's record has landed: routing's
	// writes then wait to be told instead of reading the record to learn
	// either (persist.go). Without it, those writes read the record first.
	HistoryTells bool
}

const shardCount = 16

// Router keeps the live interactions of this node. Create it with New and
// add it to the engine's journals before the first session is created.
type Router struct {
	opts   Options
	clock  clock.Clock
	log    *slog.Logger
	seed   maphash.Seed
	shards [shardCount]shard
	hub    hub
	w      writer
	d      dispatcher
}

type shard struct {
	mu sync.Mutex // guards m and every ixn in it
	m  map[string]*ixn
}

// New returns a Router.
func New(opts Options) *Router {
	if opts.AppName == "" {
		opts.AppName = "confab"
	}
	if opts.StopMode == nil {
		opts.StopMode = func() config.StopMode { return config.StopNever }
	}
	if opts.History <= 0 {
		opts.History = 1024
	}
	r := &Router{opts: opts, clock: opts.Clock, log: opts.Log, seed: maphash.MakeSeed()}
	if r.clock == nil && opts.Engine != nil {
		r.clock = opts.Engine.Clock()
	}
	if r.clock == nil {
		r.clock = clock.Real()
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	for i := range r.shards {
		r.shards[i].m = make(map[string]*ixn)
	}
	r.hub.init(opts.History)
	r.w.init()
	r.d.init()
	return r
}

func (r *Router) shard(id string) *shard {
	return &r.shards[maphash.String(r.seed, id)%shardCount]
}

// changedLocked records a change of x: it bumps the version, publishes the
// new snapshot and marks x for the store writer. x's shard lock is held.
func (r *Router) changedLocked(x *ixn, kind string) {
	x.ver++
	// The attached data is built only if a subscriber reads the change
	// (hub.publish, hub.subscribe): most changes are never read.
	r.hub.publish(Change{Type: kind, Time: r.clock.Now(), Interaction: x.viewNow(),
		src: x.source(r.opts.AppName, r.opts.Located), lazy: true})
	r.markDirty(x.view.ID)
}

// Get returns the live interaction with the given id.
func (r *Router) Get(id string) (Interaction, error) {
	sh := r.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	x := sh.m[id]
	if x == nil {
		return Interaction{}, fmt.Errorf("interaction %q: %w", id, ErrNotFound)
	}
	return r.snap(x), nil
}

// Forget drops a live interaction from memory without writing it: its
// session was purged, or another node owns it now. It also leaves its
// queue, and an open offer of it ends, so no desk here is offered it again.
func (r *Router) Forget(id string) {
	sh := r.shard(id)
	sh.mu.Lock()
	delete(sh.m, id)
	sh.mu.Unlock()
	r.syncRoute(id) // not live any more: the route is dropped
}

// update applies f to a live interaction and publishes the change if f
// altered what is published.
func (r *Router) update(id, op string, f func(*ixn) error) error {
	sh := r.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	x := sh.m[id]
	if x == nil {
		return fmt.Errorf("%s %q: %w", op, id, ErrNotFound)
	}
	if x.closed {
		return fmt.Errorf("%s %q: %w", op, id, ErrClosed)
	}
	before := x.snapshotKey()
	if err := f(x); err != nil {
		return fmt.Errorf("%s %q: %w", op, id, err)
	}
	if x.snapshotKey() != before {
		r.changedLocked(x, ChangeUpdated)
	}
	return nil
}

func (r *Router) read(id string, f func(*ixn)) error {
	sh := r.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	x := sh.m[id]
	if x == nil {
		return fmt.Errorf("interaction %q: %w", id, ErrNotFound)
	}
	f(x)
	return nil
}

// Subscribe follows the change stream; see Hub.Subscribe.
func (r *Router) Subscribe(queue string, after uint64) (*Subscription, bool) {
	return r.hub.subscribe(queue, after)
}

// Flush waits until every change made so far is written to the store (or
// given up on) and no last-agent look-up runs, or ctx ends. The server
// calls it at shutdown, before the store closes; it may be called any
// number of times.
func (r *Router) Flush(ctx context.Context) error {
	for {
		r.d.mu.Lock()
		n := r.d.resolving
		r.d.mu.Unlock()
		if n == 0 {
			break
		}
		t := time.NewTimer(5 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("routing: flush: %d last-agent look-ups running: %w", n, ctx.Err())
		}
	}
	return r.w.flush(ctx, r)
}

// snap is x's snapshot with its attached data (and, in a cluster, where
// its session lives); x's shard lock is held.
// attachedJSON is the JSON of snap(x)'s attached data, encoded without
// copying the base (jsonw.MarshalMerged): the keys routing and
// Options.Located add go into a small map of their own and win over the
// base's, as they overwrite them in snap's copy.
// TestAttachedJSONMatchesSnapshot compares the bytes. x's shard lock is
// held.
func (r *Router) attachedJSON(x *ixn) ([]byte, error) { return r.attachedJSONWith(x, nil) }

// attachedJSONWith is attachedJSON with the keys of set put last.
func (r *Router) attachedJSONWith(x *ixn, set map[string]any) ([]byte, error) {
	over := make(kv.Map, attachedKeys+len(set))
	src := x.source(r.opts.AppName, r.opts.Located)
	src.put(over)
	for k, v := range set {
		over[k] = v
	}
	return jsonw.MarshalMerged(x.base, over)
}

// AttachedJSON returns the JSON of the live interaction's attached data
// (Get's UserData) with the keys of set put on top of it, encoded without
// copying it: the closing transaction's attached data (IsOnline=0).
func (r *Router) AttachedJSON(id string, set map[string]any) ([]byte, error) {
	sh := r.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	x := sh.m[id]
	if x == nil {
		return nil, fmt.Errorf("interaction %q: %w", id, ErrNotFound)
	}
	return r.attachedJSONWith(x, set)
}

func (r *Router) snap(x *ixn) Interaction {
	v := x.viewNow()
	src := x.source(r.opts.AppName, r.opts.Located)
	v.UserData = src.build()
	return v
}
