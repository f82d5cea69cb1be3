package routing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/jsonw"
	"github.com/confab/confab/internal/store"
)

// Timing of the store writer. The history journal creates an interaction's
// record when its session is created and writes the final record when it
// closes; the writer waits for those (up to the graces) so that its own
// update lands after them and is not overwritten.
const (
	createGrace  = 30 * time.Second // then a missing record is a failure
	closeGrace   = 5 * time.Second  // then the writer updates a record history has not closed
	notYetDelay  = 50 * time.Millisecond
	failDelay    = 500 * time.Millisecond
	maxSaveFails = 5
	saveTimeout  = 10 * time.Second
	// maxParallelSaves bounds the interaction writes in flight at once.
	maxParallelSaves = 32
)

// errNotYet: the record is not ready for this write; try again shortly.
var errNotYet = errors.New("routing: interaction record not ready")

// writer writes changed interactions to the store on a goroutine that runs
// only while there is work.
type writer struct {
	mu      sync.Mutex // guards the following
	queue   []string   // interaction ids to write, in order
	queued  map[string]bool
	delayed map[string]clock.Timer
	running bool

	// win bounds the running writer goroutine's own record writes, from
	// round to round (the extra workers of a large round have their own).
	win saveWindow
}

func (w *writer) init() {
	w.queued = make(map[string]bool)
	w.delayed = make(map[string]clock.Timer)
}

// markDirty queues an interaction for writing.
func (r *Router) markDirty(id string) {
	w := &r.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.delayed[id]; ok {
		t.Stop()
		delete(w.delayed, id)
	}
	if !w.queued[id] {
		w.queued[id] = true
		w.queue = append(w.queue, id)
	}
	w.startLocked(r)
}

func (w *writer) startLocked(r *Router) {
	if !w.running {
		w.running = true
		go w.run(r)
	}
}

// retry queues id again after d, unless it is queued already.
func (w *writer) retry(r *Router, id string, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.queued[id] || w.delayed[id] != nil {
		return
	}
	w.delayed[id] = r.clock.AfterFunc(d, func() {
		w.mu.Lock()
		delete(w.delayed, id)
		w.mu.Unlock()
		r.markDirty(id)
	})
}

func (w *writer) run(r *Router) {
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		ids := w.queue
		w.queue = nil
		for _, id := range ids {
			delete(w.queued, id)
		}
		w.mu.Unlock()
		// Interactions are independent: save them concurrently so the
		// store's group-commit writer can put many updates in one
		// transaction. An id is in ids at most once, and the next round
		// starts only when this one is done, so one interaction is never
		// written twice at once.
		// At most maxParallelSaves workers take the ids in turn, this
		// goroutine one of them: a round of one id starts no goroutine.
		var next atomic.Int64
		work := func(win *saveWindow) {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				r.save(ids[i], win)
			}
		}
		var wg sync.WaitGroup
		for range min(len(ids), maxParallelSaves) - 1 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var win saveWindow
				defer win.stop()
				work(&win)
			}()
		}
		work(&w.win) // only the one running writer uses it (running)
		wg.Wait()
	}
}

// flush waits until nothing is queued, delayed or being written.
func (w *writer) flush(ctx context.Context, r *Router) error {
	for {
		w.mu.Lock()
		busy := w.running || len(w.queue) > 0 || len(w.delayed) > 0
		w.mu.Unlock()
		if !busy {
			return nil
		}
		t := time.NewTimer(10 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("routing: flush: %s: %w", w.pending(), ctx.Err())
		}
	}
}

// pending says what a flush still waits for: the interactions queued,
// those waiting to be written again (a few of their ids), and whether a
// round of writes is running.
func (w *writer) pending() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	ids := make([]string, 0, len(w.delayed))
	for id := range w.delayed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	const named = 3
	more := ""
	if len(ids) > named {
		ids, more = ids[:named], ", ..."
	}
	return fmt.Sprintf("%d interactions queued, %d waiting to be written again (%s%s), writer running %t",
		len(w.queue), len(w.delayed), strings.Join(ids, ", "), more, w.running)
}

// save writes one interaction's latest snapshot; a closed one leaves memory
// once written.
func (r *Router) save(id string, win *saveWindow) {
	sh := r.shard(id)
	sh.mu.Lock()
	x := sh.m[id]
	if x == nil || (x.saved == x.ver && !x.closed) {
		sh.mu.Unlock()
		return
	}
	ver, closed, known := x.ver, x.closed, x.contactKnown
	awaitContact, recordClosed := x.awaitContact, x.recordClosed
	createdAt, closedAt := x.view.CreatedAt, x.view.ClosedAt
	// The snapshot (a copy of the attached data) is taken, under the
	// lock, only for a write that happens now; a write waiting to be told
	// takes none.
	var snap Interaction
	var bw blindWrite
	rw, blind := r.opts.Store.(store.RoutingWriter)
	now := r.clock.Now()
	const (
		none = iota
		writeBlind
		waitContact
		waitClosed
		writeRead
	)
	how := none
	if r.opts.Store != nil {
		switch {
		case blind && known && (!closed || recordClosed):
			how = writeBlind
		case blind && !known && awaitContact && now.Sub(createdAt) < createGrace:
			how = waitContact
		case blind && known && closed && r.opts.HistoryTells && now.Sub(closedAt) < closeGrace:
			how = waitClosed
		default:
			how = writeRead
		}
		switch how {
		case writeBlind:
			bw = blindWrite{id: x.view.ID, state: x.state(), createdAt: createdAt}
			bw.ud, bw.err = r.attachedJSON(x)
		case writeRead:
			snap = r.snap(x)
		}
	}
	sh.mu.Unlock()

	var err error
	var wait time.Duration // how long a write waiting to be told may wait
	switch how {
	case writeBlind:
		err = r.writeBlind(win.get(), rw, bw)
	case waitContact:
		// The history tells the contact once it has created the record:
		// no read (LearnContact wakes this write).
		err, wait = errNotYet, notYetDelay
	case waitClosed:
		// The history tells when its closing transaction has landed
		// (RecordClosed wakes this write); if it never does, the write
		// reads the record once the grace is over.
		err, wait = errNotYet, closeGrace-now.Sub(closedAt)
	case writeRead:
		err = r.write(win.get(), snap, closed)
	}
	retry := time.Duration(0)
	sh.mu.Lock()
	switch {
	case err == nil || errors.Is(err, store.ErrClosed):
		if err != nil {
			r.log.Debug("routing: store closed; interaction not written", "interaction", id)
		}
		x.saved, x.saveFails = ver, 0
	case errors.Is(err, store.ErrFenced):
		// Another node owns the session now: its record is that node's.
		r.log.Warn("routing: interaction update fenced; the session has a newer owner", "interaction", id, "err", err)
		x.saved, x.saveFails = ver, 0
	case errors.Is(err, errNotYet):
		retry = notYetDelay
		if wait > 0 {
			retry = wait
		}
	default:
		x.saveFails++
		if x.saveFails < maxSaveFails {
			retry = failDelay * time.Duration(x.saveFails)
		} else {
			r.log.Error("routing: giving up writing interaction", "interaction", id, "err", err)
			x.saved, x.saveFails = ver, 0
		}
	}
	if retry == 0 && closed && x.ver == x.saved && sh.m[id] == x {
		delete(sh.m, id) // the store holds it now
	}
	sh.mu.Unlock()
	if retry > 0 {
		r.w.retry(r, id, retry)
	}
	if errors.Is(err, store.ErrFenced) && r.opts.Fenced != nil {
		r.opts.Fenced(id)
	}
}

// saveWindow bounds a writer worker's record writes: one context with a
// deadline saveTimeout ahead, renewed once it is a second old, so that
// every write has at least saveTimeout less a second without a context and
// a timer of its own.
type saveWindow struct {
	ctx    context.Context
	cancel context.CancelFunc
	made   time.Time
}

func (w *saveWindow) get() context.Context {
	now := time.Now()
	if w.ctx == nil || now.Sub(w.made) > time.Second {
		w.stop()
		w.ctx, w.cancel = context.WithTimeout(context.Background(), saveTimeout)
		w.made = now
	}
	return w.ctx
}

func (w *saveWindow) stop() {
	if w.cancel != nil {
		w.cancel()
	}
}

// writeBlind sets a live interaction's state and attached data without
// reading its record (the store coalesces the updates of one interaction
// that meet in a batch). The closed interaction's last write goes through
// write, which waits for history's closing transaction to land first.
func (r *Router) writeBlind(ctx context.Context, rw store.RoutingWriter, w blindWrite) error {
	if w.err != nil {
		return fmt.Errorf("encode attached data of %s: %w", w.id, w.err)
	}
	err := rw.UpdateRouting(ctx, store.RoutingUpdate{ID: w.id, State: string(w.state), UserData: w.ud, Epoch: r.epoch(w.id)}).Wait(ctx)
	if errors.Is(err, store.ErrNotFound) {
		// The contact history creates the record; it may still be queued.
		if r.clock.Now().Sub(w.createdAt) < createGrace {
			return errNotYet
		}
		return fmt.Errorf("interaction %s: no record %v after creation: %w", w.id, createGrace, err)
	}
	if err != nil {
		return fmt.Errorf("update interaction %s: %w", w.id, err)
	}
	return nil
}

// blindWrite is what writeBlind writes, taken under the shard lock: the
// interaction's state and its attached data already encoded (no copy of
// the attached data, see Router.attachedJSON).
type blindWrite struct {
	id        string
	state     State
	createdAt time.Time
	ud        []byte // the attached data's JSON
	err       error  // from encoding ud
}

// write updates the interaction's record with the snapshot's state and
// attached data, once history has created the record; reading the record
// first, it learns the contact the history identified (later writes are
// blind, see writeBlind).
func (r *Router) write(ctx context.Context, snap Interaction, closed bool) error {
	st := r.opts.Store
	for attempt := 0; attempt < 5; attempt++ {
		rec, err := st.GetInteraction(ctx, snap.ID)
		if errors.Is(err, store.ErrNotFound) {
			// The contact history (package history) creates the record; it
			// may still be queued. Routing never creates it, so a record
			// cannot be created twice.
			if r.clock.Now().Sub(snap.CreatedAt) < createGrace {
				return errNotYet
			}
			return fmt.Errorf("interaction %s: no record %v after creation: %w", snap.ID, createGrace, err)
		}
		if err != nil {
			return fmt.Errorf("read interaction %s: %w", snap.ID, err)
		}
		if closed && rec.Status != store.StatusClosed && r.clock.Now().Sub(snap.ClosedAt) < closeGrace {
			return errNotYet
		}
		if rec.ContactID != "" {
			snap.UserData[KeyContactID] = rec.ContactID
		}
		r.learnContact(snap.ID, rec.ContactID)
		ud, err := jsonw.MarshalMap(snap.UserData)
		if err != nil {
			return fmt.Errorf("encode attached data of %s: %w", snap.ID, err)
		}
		rec.State = string(snap.State)
		rec.UserData = ud
		rec.Epoch = r.epoch(snap.ID)
		_, err = st.UpdateInteraction(ctx, rec)
		if errors.Is(err, store.ErrConflict) {
			continue // someone else wrote it meanwhile: read again
		}
		if err != nil {
			return fmt.Errorf("update interaction %s: %w", snap.ID, err)
		}
		return nil
	}
	return fmt.Errorf("update interaction %s: %w (5 attempts)", snap.ID, store.ErrConflict)
}

// LearnContact tells routing the contact the history identified for an
// interaction ("" for none), so that its record writes need no read.
func (r *Router) LearnContact(id, contactID string) { r.learnContact(id, contactID) }

// learnContact attaches the contact id history identified.
func (r *Router) learnContact(id, contactID string) {
	sh := r.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	x := sh.m[id]
	if x == nil {
		return
	}
	x.contactKnown = true
	if x.contactTold != nil {
		close(x.contactTold) // a last-agent look-up waits for it
		x.contactTold = nil
	}
	if contactID != "" && x.contactID == "" {
		x.contactID = contactID
		r.changedLocked(x, ChangeUpdated)
	} else if x.awaitContact && x.saved != x.ver {
		r.markDirty(id) // a write was waiting for this
	}
}

// RecordClosed tells routing that the contact history's closing
// transaction of an interaction has landed (Options.HistoryTells): its
// closed state is then written without reading the record first.
func (r *Router) RecordClosed(id string) {
	sh := r.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	x := sh.m[id]
	if x == nil {
		return
	}
	x.recordClosed = true
	if x.closed {
		r.markDirty(id) // the closed write was waiting for this
	}
}

// epoch is the owner epoch routing's writes carry (Options.Epoch); 0
// writes unfenced.
func (r *Router) epoch(id string) int64 {
	if r.opts.Epoch == nil {
		return 0
	}
	return r.opts.Epoch(id)
}
