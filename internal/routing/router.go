package routing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"strconv"
	"sync"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
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
	return r
}

func (r *Router) shard(id string) *shard {
	return &r.shards[maphash.String(r.seed, id)%shardCount]
}

// changedLocked records a change of x: it bumps the version, publishes the
// new snapshot and marks x for the store writer. x's shard lock is held.
func (r *Router) changedLocked(x *ixn, kind string) {
	x.ver++
	snap := x.snapshot(r.opts.AppName)
	r.hub.publish(Change{Type: kind, Time: r.clock.Now(), Interaction: snap})
	r.markDirty(x.view.ID)
}

// The chat.Journal methods. The engine calls them with the session lock
// held: they touch memory only.

// SessionCreated puts the new session's interaction into its queue.
func (r *Router) SessionCreated(info *chat.Info) chat.Waiter {
	x := &ixn{
		view: Interaction{
			ID: info.ID, SessionID: info.ID, Tenant: info.Tenant, Endpoint: info.Endpoint,
			Queue: info.Queue, Subject: info.Subject, Online: true, Async: info.Async,
			CreatedAt: info.CreatedAt,
		},
		base:     info.UserData.Clone(),
		password: info.Password,
		present:  make(map[string]chat.Party),
	}
	if info.Async {
		x.view.AsyncStatus = AsyncNew
	}
	sh := r.shard(info.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.m[info.ID] = x
	r.changedLocked(x, ChangeCreated)
	return nil
}

// SessionUpdated follows changes of the customer's user data.
func (r *Router) SessionUpdated(info *chat.Info) chat.Waiter {
	sh := r.shard(info.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	x := sh.m[info.ID]
	if x == nil || x.closed || kv.Equal(x.base, info.UserData) {
		return nil
	}
	x.base = info.UserData.Clone()
	r.changedLocked(x, ChangeUpdated)
	return nil
}

// EventAppended follows parties joining and leaving, and customer messages
// of async chats on hold. Other events return at once without a lock.
func (r *Router) EventAppended(sessionID string, ev *chat.Event) chat.Waiter {
	switch ev.Kind {
	case chat.NewParty, chat.PartyLeft:
	case chat.Message:
		if ev.From.Type != chat.Client {
			return nil
		}
	case chat.Notice:
		// The async idle alert, or a customer's notice that counts as
		// activity under async-idle-notices (it may wake a held chat).
		if (ev.Notice != chat.IdleAlert || ev.UserData.String(chat.KeyAsyncCheckAt) == "") && !r.asyncActivity(ev) {
			return nil
		}
	default:
		return nil
	}
	sh := r.shard(sessionID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	x := sh.m[sessionID]
	if x == nil || x.closed {
		return nil
	}
	before := x.snapshotKey()
	switch ev.Kind {
	case chat.NewParty:
		r.joinedLocked(x, ev.From)
	case chat.PartyLeft:
		r.leftLocked(x, ev)
	case chat.Message:
		if x.view.Async && x.onHold && x.agents == 0 {
			x.view.AsyncStatus = AsyncCustomerReplied
			x.onHold = false
		}
	case chat.Notice:
		switch {
		case !x.view.Async:
		case ev.From.Type == chat.System: // the async idle alert: the session closes soon
			x.view.AsyncStatus = AsyncIdleExpired
			x.view.AsyncCheckAt = ev.UserData.String(chat.KeyAsyncCheckAt)
		case x.onHold && x.agents == 0:
			x.view.AsyncStatus = AsyncCustomerReplied
			x.onHold = false
		}
	}
	if x.snapshotKey() != before {
		r.changedLocked(x, ChangeUpdated)
	}
	return nil
}

// asyncActivity reports whether ev is a customer's notice that counts as
// activity under async-idle-notices (which also decides when a held async
// chat's status becomes 2).
func (r *Router) asyncActivity(ev *chat.Event) bool {
	if ev.From.Type != chat.Client {
		return false
	}
	set := config.NoticesMajor
	if cfg := r.opts.Engine.TimerConfig(); cfg != nil {
		set = cfg.Settings.AsyncIdleNotices
	}
	return ev.Qualifies(set)
}

func (r *Router) joinedLocked(x *ixn, p chat.Party) {
	x.present[p.UserID] = p
	if p.UserID == x.claimUser {
		x.assignee = p.UserID
		x.claimUser = ""
	}
	if isAgent(p) {
		x.agents++
		x.everAgent = true
		x.onHold = false
		if x.view.Async {
			x.view.AsyncStatus = AsyncProcessing
		}
	}
}

func (r *Router) leftLocked(x *ixn, ev *chat.Event) {
	p := ev.From
	if _, ok := x.present[p.UserID]; !ok {
		return
	}
	delete(x.present, p.UserID)
	if isAgent(p) {
		x.agents--
	}
	if p.UserID == x.assignee {
		x.assignee = ""
		x.view.AgentID = ""
	}
	if x.view.Async && ev.Reason == chat.LeftDisconnect && (p.Type == chat.Agent || p.Type == chat.Supervisor) {
		x.view.AsyncStatus = AsyncAgentDisconnected
	}
}

// SessionClosed takes the interaction offline, or stops it when
// stop-abandoned-interaction says so.
func (r *Router) SessionClosed(final *chat.Final) chat.Waiter {
	sh := r.shard(final.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	x := sh.m[final.ID]
	if x == nil || x.closed {
		return nil
	}
	agentAtClose := false
	for i := range final.Participants {
		p := &final.Participants[i]
		if !p.Bot && (p.Type == chat.Agent || p.Type == chat.Supervisor) {
			x.everAgent = true
			if p.LeftAt.Equal(final.ClosedAt) {
				agentAtClose = true
			}
		}
	}
	x.base = final.UserData.Clone()
	x.closed = true
	x.view.Online = false
	x.view.ClosedAt = final.ClosedAt
	x.view.AgentID = ""
	x.present = nil
	x.agents = 0
	x.view.State = Offline
	if stop(r.opts.StopMode(), agentAtClose, x.everAgent) {
		x.view.State = Stopped
	}
	r.changedLocked(x, ChangeClosed)
	return nil
}

// stop applies stop-abandoned-interaction: always, never, noagents (no
// agent was in the session when it closed) or noanswer (no agent ever
// joined). Bots never count as agents.
func stop(mode config.StopMode, agentAtClose, everAgent bool) bool {
	switch mode {
	case config.StopAlways:
		return true
	case config.StopNoAgents:
		return !agentAtClose
	case config.StopNoAnswer:
		return !everAgent
	}
	return false
}

// snapshotKey is what a change must alter to be published.
type viewKey struct {
	state       State
	asyncStatus int
	checkAt     string
	agentID     string
}

func (x *ixn) snapshotKey() viewKey {
	return viewKey{x.state(), x.view.AsyncStatus, x.view.AsyncCheckAt, x.view.AgentID}
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
	return x.snapshot(r.opts.AppName), nil
}

// Waiting returns the queued interactions of a queue ("" for every queue),
// oldest first.
func (r *Router) Waiting(queue string) []Interaction {
	return r.live(func(x *ixn) bool {
		return !x.closed && x.state() == Queued && (queue == "" || x.view.Queue == queue)
	})
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
				out = append(out, x.snapshot(r.opts.AppName))
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

// Accepted is the result of a successful Accept.
type Accepted struct {
	Session     *chat.Session
	Participant chat.Participant
	Receipt     chat.Receipt // of the newParty event
	Interaction Interaction
}

// Accept claims a queued interaction for the agent personID and joins its
// session with join (whose Type, Visibility, Nick and UserData the caller
// sets; the session password is added when the session has one). The claim
// is atomic: while one Accept is joining, and once it has joined, every
// other Accept of the same interaction fails with ErrTaken. If the join
// fails the interaction goes back to its queue.
func (r *Router) Accept(id, personID string, join chat.JoinRequest) (Accepted, error) {
	if join.UserID == "" {
		join.UserID = chat.NewUserID()
	}
	sh := r.shard(id)
	sh.mu.Lock()
	x := sh.m[id]
	switch {
	case x == nil:
		sh.mu.Unlock()
		return Accepted{}, fmt.Errorf("accept %q: %w", id, ErrNotFound)
	case x.closed:
		sh.mu.Unlock()
		return Accepted{}, fmt.Errorf("accept %q: %w", id, ErrClosed)
	}
	if st := x.state(); st != Queued {
		sh.mu.Unlock()
		if st == Assigned {
			return Accepted{}, fmt.Errorf("accept %q: %w", id, ErrTaken)
		}
		return Accepted{}, fmt.Errorf("accept %q (state %s): %w", id, st, ErrNotQueued)
	}
	x.claimUser = join.UserID
	x.view.AgentID = personID
	password := x.password
	r.changedLocked(x, ChangeUpdated)
	sh.mu.Unlock()

	if password != "" {
		join.UserData = join.UserData.Clone()
		if join.UserData == nil {
			join.UserData = kv.Map{}
		}
		join.UserData[chat.KeySessionPassword] = password
	}
	var (
		sess *chat.Session
		p    chat.Participant
		rc   chat.Receipt
	)
	sess, err := r.opts.Engine.Get(id)
	if err == nil {
		p, rc, err = sess.Join(join)
	}

	sh.mu.Lock()
	defer sh.mu.Unlock()
	if err != nil {
		if x.claimUser == join.UserID { // give it back to the queue
			x.claimUser = ""
			x.view.AgentID = ""
			r.changedLocked(x, ChangeUpdated)
		}
		return Accepted{}, fmt.Errorf("accept %q: join its session: %w", id, err)
	}
	return Accepted{Session: sess, Participant: p, Receipt: rc, Interaction: x.snapshot(r.opts.AppName)}, nil
}

// PlaceOnHold sets an async chat's GCTI_Chat_AsyncStatus to -2; from then
// on, a customer message while no agent is present raises it to 2.
func (r *Router) PlaceOnHold(id string) error {
	return r.update(id, "place on hold", func(x *ixn) error {
		if !x.view.Async {
			return ErrNotAsync
		}
		x.onHold = true
		x.view.AsyncStatus = AsyncOnHold
		return nil
	})
}

// Forget drops a live interaction from memory without writing it: its
// session was purged and lives on elsewhere.
func (r *Router) Forget(id string) {
	sh := r.shard(id)
	sh.mu.Lock()
	delete(sh.m, id)
	sh.mu.Unlock()
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
// given up on), or ctx ends. The server calls it at shutdown, before the
// store closes; it may be called any number of times.
func (r *Router) Flush(ctx context.Context) error { return r.w.flush(ctx, r) }

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
