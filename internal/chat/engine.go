package chat

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/pii"
)

// Waiter completes when something has been made durable.
type Waiter interface {
	Wait(ctx context.Context) error
}

// Journal receives what must outlive the process: every session's creation,
// changes of its data, every appended event and its closing.
//
// The engine calls a Journal with the session's lock held, in transcript
// order, so implementations must only enqueue (never block on I/O) and must
// not call back into the session. The Waiter they return (nil when nothing
// needs waiting for) completes once the write is durable; the engine hands it
// to the caller in a Receipt. Pointers passed in are only valid during the call.
type Journal interface {
	SessionCreated(info *Info) Waiter
	SessionUpdated(info *Info) Waiter
	EventAppended(sessionID string, ev *Event) Waiter
	SessionClosed(final *Final) Waiter
}

// Settings are the engine's run-time options; they can change while the
// server runs (SetSettings).
type Settings struct {
	// PasswordEnforce generates a session password at creation and requires
	// it from later joiners (session-password-enforce).
	PasswordEnforce bool
	// ClosedGrace is how long a closed session stays readable before it is
	// purged from memory.
	ClosedGrace time.Duration
	// SessionLimit caps concurrent live sessions (limit-for-sessions).
	SessionLimit int
	// Bounds limit what one session's parties may send (bounds.go).
	Bounds Bounds
}

// DefaultSettings are the reference defaults.
var DefaultSettings = Settings{ClosedGrace: time.Minute, SessionLimit: 1000}

// Options configure an Engine.
type Options struct {
	Clock    clock.Clock // default: the real clock
	Journal  Journal     // default: nothing is recorded
	Settings Settings    // zero value: DefaultSettings
	// OnWriteError, when set, is called (without locks held) when the
	// journal reports that an appended event could not be made durable.
	OnWriteError func(s *Session, pos int, err error)
	// Admit, when set, is asked before a session is created or restored
	// (restore true for Restore and for a Create that carries its id); an
	// error refuses it and is returned wrapped in ErrLimit. The load limits
	// plug in here.
	Admit func(restore bool) error
	// Statistics, when set, computes a closing session's reporting
	// statistics from its final record; they are merged into the record's
	// user data and kept in Final.Stats. It runs with the session's lock
	// held, so it must be a pure computation.
	Statistics func(*Final) kv.Map
	// Interim, when set, is asked for intermediate statistics of an async
	// session after each agent join or departure (see interim.go); it runs
	// with the session's lock held and must be a pure computation.
	Interim InterimFunc
}

const shardCount = 64

// Engine is the registry of sessions. It is safe for concurrent use: the
// registry is split into shards with a lock each, and every session
// serialises its own operations, so there is no global lock on the message
// path.
type Engine struct {
	clock    clock.Clock
	journal  Journal
	admit    func(restore bool) error
	stats    func(*Final) kv.Map
	interim  InterimFunc
	seed     maphash.Seed
	settings atomic.Pointer[Settings]
	masking  atomic.Pointer[pii.Policy] // see mask.go
	alive    atomic.Int64
	timers   atomic.Pointer[timerHooks] // nil until SetTimers (timers.go)
	shards   [shardCount]shard
	scratch  sync.Pool // *Event: appendLocked's copy (scratchEvent)
	quitMaps quitMaps  // the customers' partyLeft attributes by reason, shared (read-only)

	onWriteError func(*Session, int, error)
}

type shard struct {
	mu       sync.RWMutex // guards sessions
	sessions map[string]*Session
}

// New returns an Engine.
func New(opts Options) *Engine {
	e := &Engine{clock: opts.Clock, journal: opts.Journal, admit: opts.Admit, stats: opts.Statistics, interim: opts.Interim, seed: maphash.MakeSeed(), onWriteError: opts.OnWriteError,
		quitMaps: newQuitMaps()}
	if e.clock == nil {
		e.clock = clock.Real()
	}
	if e.journal == nil {
		e.journal = nopJournal{}
	}
	st := opts.Settings
	if st == (Settings{}) {
		st = DefaultSettings
	}
	e.settings.Store(&st)
	for i := range e.shards {
		e.shards[i].sessions = make(map[string]*Session)
	}
	return e
}

// SetSettings replaces the run-time settings; sessions created later and
// every later operation see the new values.
func (e *Engine) SetSettings(s Settings) { e.settings.Store(&s) }

// Settings returns the current run-time settings.
func (e *Engine) Settings() Settings { return *e.settings.Load() }

// Clock returns the engine's clock.
func (e *Engine) Clock() clock.Clock { return e.clock }

// Alive returns the number of live (not closed) sessions.
func (e *Engine) Alive() int { return int(e.alive.Load()) }

func (e *Engine) shard(id string) *shard {
	return &e.shards[maphash.String(e.seed, id)%shardCount]
}

// CreateRequest describes a new session and the party that creates it.
type CreateRequest struct {
	Tenant   string // tenant id, e.g. "1"
	Endpoint string // endpoint name within the tenant, e.g. "default"
	Queue    string // interaction queue the endpoint maps to
	// Service is the customer API service name the session was created
	// under; its customer's credentials are accepted under that name only.
	Service  string
	Subject  string
	Async    bool
	Language string
	UserData kv.Map
	// Password, when set, is used instead of a generated one (only the agent
	// protocol may supply its own). It is ignored unless passwords are enforced.
	Password string
	// ID, when set, is the session id (used when restoring); otherwise one is
	// generated.
	ID      string
	Creator JoinRequest
}

// Create starts a session with its creator as the first participant and
// returns the session, the creator and the receipt of its newParty event.
func (e *Engine) Create(req CreateRequest) (*Session, Participant, Receipt, error) {
	if !req.Creator.Type.allows(req.Creator.Visibility) {
		return nil, Participant{}, Receipt{}, fmt.Errorf("create session as %s with visibility %s: %w", req.Creator.Type, req.Creator.Visibility, ErrVisibility)
	}
	if e.admit != nil {
		if err := e.admit(req.ID != ""); err != nil {
			return nil, Participant{}, Receipt{}, fmt.Errorf("create session: %w: %v", ErrLimit, err)
		}
	}
	st := e.settings.Load()
	if int(e.alive.Add(1)) > st.SessionLimit {
		e.alive.Add(-1)
		return nil, Participant{}, Receipt{}, fmt.Errorf("create session: %w (limit-for-sessions=%d)", ErrLimit, st.SessionLimit)
	}
	now := e.clock.Now()
	s := &Session{
		engine:   e,
		id:       req.ID,
		tenant:   req.Tenant,
		endpoint: req.Endpoint,
		queue:    req.Queue,
		service:  req.Service,
		created:  now,
		async:    req.Async,
		language: req.Language,
		userData: req.UserData.Clone(),
	}
	s.subject, s.historySubject = e.maskSubject(req.Subject)
	if s.id == "" {
		s.id = NewSessionID()
	}
	if s.userData == nil {
		s.userData = kv.Map{}
	}
	s.language = e.languageAtCreate(s.id, s.language, s.userData)
	if st.PasswordEnforce {
		s.password = req.Password
		if s.password == "" {
			s.password = NewPassword()
		}
	}
	sh := e.shard(s.id)
	sh.mu.Lock()
	if _, exists := sh.sessions[s.id]; exists {
		sh.mu.Unlock()
		e.alive.Add(-1)
		return nil, Participant{}, Receipt{}, fmt.Errorf("%w: session id %s already exists", ErrInvalid, s.id)
	}
	sh.sessions[s.id] = s
	s.mu.Lock() // a new session: nobody else can hold its lock yet
	sh.mu.Unlock()
	defer s.mu.Unlock()

	info := s.infoLocked()
	info.CreatorSecret = req.Creator.Secret
	created := e.journal.SessionCreated(&info)
	req.Creator.creator = true
	p, rc, err := s.joinLocked(req.Creator, now)
	if err != nil { // cannot happen: the creator's only failure mode was checked above
		panic(fmt.Sprintf("chat: creator join failed after validation: %v", err))
	}
	if rc.durable == nil {
		rc.durable = created
	} else if created != nil {
		rc.durable = waiters{created, rc.durable}
	}
	return s, p, rc, nil
}

// Get returns the session with the given id, alive or closed but not yet purged.
func (e *Engine) Get(id string) (*Session, error) {
	sh := e.shard(id)
	sh.mu.RLock()
	s := sh.sessions[id]
	sh.mu.RUnlock()
	if s == nil {
		return nil, fmt.Errorf("session %q: %w", id, ErrNotFound)
	}
	return s, nil
}

// purge removes a closed session from the registry.
func (e *Engine) purge(s *Session) {
	sh := e.shard(s.id)
	sh.mu.Lock()
	if sh.sessions[s.id] == s {
		delete(sh.sessions, s.id)
	}
	sh.mu.Unlock()
}

type nopJournal struct{}

func (nopJournal) SessionCreated(*Info) Waiter         { return nil }
func (nopJournal) SessionUpdated(*Info) Waiter         { return nil }
func (nopJournal) EventAppended(string, *Event) Waiter { return nil }
func (nopJournal) SessionClosed(*Final) Waiter         { return nil }

// Receipt acknowledges a change to a session: the position and time of the
// (last) event it appended, and a way to wait until that is durable.
type Receipt struct {
	Pos  int
	Time time.Time
	// Duplicate is set when a send repeated an earlier client message id and
	// nothing new was appended; Pos is the earlier message's position.
	Duplicate bool
	durable   Waiter
	sess      *Session // whose watermark a successful Wait settles
}

// Done reports whether the change wrote nothing that must become durable
// (the journal does not make it durable): Wait would return nil at once.
func (r Receipt) Done() bool { return r.durable == nil }

// Wait blocks until everything the change wrote is durable (at once when the
// journal does not make it durable), or ctx ends.
func (r Receipt) Wait(ctx context.Context) error {
	if r.durable == nil {
		return nil
	}
	if err := r.durable.Wait(ctx); err != nil {
		return err
	}
	if r.sess != nil && r.sess.durableSeen.Load() <= int64(r.Pos) {
		// What is acknowledged is visible: the caller may read its own
		// event at once, before the tracking goroutine (or the store's
		// completion callback) runs. Once the watermark has passed the
		// event, there is nothing to settle and the session's lock is
		// not taken.
		r.sess.settle()
	}
	return nil
}
