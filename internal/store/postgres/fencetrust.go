package postgres

import (
	"slices"
	"sync"
)

// The owner fence without reading the owner rows again in every batch.
//
// A fenced event must not land once its epoch has ended. The event
// statement used to read the owner row of each of its fenced sessions in
// every batch (and the fence lock statement read them once more to find
// their nodes): at a throughput run's batch of ~50 events from ~50
// sessions, two index probes and a heap fetch per event, returned to the
// writer row by row, about a quarter of the backend's CPU per event
// (BenchmarkWriterRate: fenced 19–24 µs against unfenced 14 µs).
//
// An owner epoch ends only by a claim, and a claim of a session from node
// A now counts itself in A's row of fence_claims, in its own transaction
// (Claim; migration 0009). So once this store has read a session's owner
// row (node A, epoch e) together with A's count c in one statement, and
// A's count is still c later, no claim from A has committed in between:
// the session's owner is still (A, e). The writer remembers what it read
// (fenceTrust: the session's node, epoch and A's count then) and, for an
// event of that session carrying epoch e, sends only A's count: the event
// statement compares the counts of the batch's nodes with fence_claims (one
// row read per node) and reads the owner rows only if one changed — then
// every event of the batch is checked as before and what was read is
// learnt anew. The fence lock statement takes the lock of those nodes
// directly (lockOwners' $2), reading the owner rows of the other fenced
// writes only. The order of the fence lock is unchanged: the lock first,
// then, in a later statement (a new snapshot), the counts; a claim takes
// the lock exclusively before it changes the row and the count, so it
// either waits for the batch or has committed before the batch's snapshot
// (the count then differs).
//
// What the store learns counts only once the batch that read it has
// committed (a batch written again by the statement path learns nothing).
// An entry is forgotten when this store releases the session; the map is
// bounded (maxTrusted: cleared whole when full, which only costs a read of
// each session again). A session whose owner row is deleted and created
// anew keeps being fenced by epoch, as the row reads did (an epoch
// matching a re-created row's passes there too). Claims by a build from
// before migration 0009 do not count themselves: as for the fence lock,
// drain the older nodes first in a rolling upgrade.

// maxTrusted bounds the sessions remembered.
const maxTrusted = 1 << 20

// fenceTrust is what the writer knows of owner rows; safe for concurrent
// use (the writer's goroutines read and learn, Release forgets).
type fenceTrust struct {
	mu       sync.Mutex // guards the following
	sessions map[string]ownerRead
	claims   map[string]int64 // per node: the newest count read
}

// ownerRead is a session's owner row and its node's claim count, as read
// in one statement.
type ownerRead struct {
	node          string
	epoch, claims int64
}

// learnt is an owner row read by a batch, applied once it commits.
type learnt struct {
	session string
	ownerRead
}

// fencePlan is how one pipelined batch fences its writes.
type fencePlan struct {
	sessions  map[string]uint8 // the fenced sessions: planTrusted, planRead (nil: none)
	untrusted []string         // the sessions whose rows are read: the lock statement reads them
	nodes     []string         // the trusted sessions' nodes ...
	claims    []int64          // ... and the counts their events are sent with
}

// Flags of a session in a fencePlan.
const (
	planTrusted uint8 = 1 << iota // an event whose epoch is the one read
	planRead                      // a write that reads the owner row
)

// trusted reports whether the events of session id are sent trusted.
func (p *fencePlan) trusted(id string) bool { return p.sessions[id] == planTrusted }

// plan decides which of batch's fenced sessions are trusted: those whose
// events all carry the epoch last read, read with their node's newest
// count, and that have no other fenced write in the batch.
func (t *fenceTrust) plan(batch []op) fencePlan {
	var p fencePlan
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range batch {
		o := &batch[i]
		id := fencedID(o)
		if id == "" {
			continue
		}
		if p.sessions == nil {
			p.sessions = make(map[string]uint8)
		}
		f := p.sessions[id]
		if o.route == nil && o.st == nil && f&planRead == 0 {
			if r, ok := t.sessions[id]; ok && r.epoch == o.ev.Epoch && r.claims == t.claims[r.node] {
				p.sessions[id] = f | planTrusted
				continue
			}
		}
		p.sessions[id] = f | planRead
	}
	for id, f := range p.sessions {
		if f != planTrusted {
			p.untrusted = append(p.untrusted, id)
			continue
		}
		r := t.sessions[id]
		if !slices.Contains(p.nodes, r.node) {
			p.nodes = append(p.nodes, r.node)
			p.claims = append(p.claims, r.claims)
		}
	}
	return p
}

// fencedID is the session a write is fenced on, "" if none.
func fencedID(o *op) string {
	switch {
	case o.route != nil:
		if o.route.Epoch != 0 {
			return o.route.ID
		}
	case o.st != nil:
		return o.st.fence
	case o.fn != nil:
	default:
		if o.ev.Epoch != 0 {
			return o.ev.SessionID
		}
	}
	return ""
}

// learn records owner rows read by a committed batch.
func (t *fenceTrust) learn(rows []learnt) {
	if len(rows) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sessions == nil || len(t.sessions)+len(rows) > maxTrusted {
		t.sessions = make(map[string]ownerRead)
	}
	if t.claims == nil {
		t.claims = make(map[string]int64)
	}
	for _, r := range rows {
		if c, ok := t.claims[r.node]; !ok || r.claims > c {
			t.claims[r.node] = r.claims
		}
		t.sessions[r.session] = r.ownerRead
	}
}

// forget drops a session (released).
func (t *fenceTrust) forget(session string) {
	t.mu.Lock()
	delete(t.sessions, session)
	t.mu.Unlock()
}
