package history

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/jsonw"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/store"
)

// DefaultContactKeys are the contact attributes tried, in order, to identify
// a customer.
var DefaultContactKeys = []string{store.AttrEmailAddress, store.AttrPhoneNumber}

// Options configure a Journal.
type Options struct {
	Store store.Store
	// AutoSave returns the live transcript-auto-save value (0, 1 or 2).
	AutoSave func() int
	// ContactKeys are the contact attributes tried in order; default
	// DefaultContactKeys.
	ContactKeys []string
	// ContactAttributes returns the user-data keys that become attributes
	// of a new contact ([protection] contact-attributes), besides
	// ContactKeys; nil means every string key.
	ContactAttributes func() []string
	// Attached, when set, returns the attached data to store with a closed
	// session's record in the closing transaction (routing's keys with
	// IsOnline=0), so a crash at any point of closing leaves the record
	// either open or fully closed; nil keeps the stored user data.
	Attached func(*chat.Final) json.RawMessage
	// Epoch, when set, gives the owner epoch each event write carries (the
	// cluster's fencing); 0 writes unfenced.
	Epoch func(sessionID string) int64
	// BeforeClose, when set, runs before a closed session's record is
	// written; an error (the cluster's owner row was taken: the session is
	// another node's now) skips the write.
	BeforeClose func(ctx context.Context, sessionID string) error
	// Resend, when set, returns the live retry policy of failed saves
	// (transcript-resend-attempts, transcript-resend-delay; resend.go).
	Resend func() Resend
	// Clock times the retries; default the real clock.
	Clock clock.Clock
	// OnContact, when set, is told the contact a new session was
	// identified with ("" for none) once its record is created: routing
	// then writes the record's attached data without reading it.
	OnContact func(sessionID, contactID string)
	// OnClosed, when set, is told when a closed session's record has been
	// written (its closing transaction is durable): routing then writes
	// its closed state without reading the record.
	OnClosed func(sessionID string)
	// FinalFromStore writes a closed session's final transcript from its
	// stored intermediate events where the store can compose it
	// (finalstored.go) instead of from the session's events in memory;
	// the document is the same. The server leaves it off: on both stores
	// it measured more CPU per close than encoding from memory
	// (BenchmarkCloseFinal, docs/benchmarks.md issue 17 sixth round).
	FinalFromStore bool
	Log            *slog.Logger
}

// Journal records sessions in the contact history. Create one with New and
// call Close after the engine has stopped changing sessions.
type Journal struct {
	opts Options

	mu     sync.Mutex // guards the following
	queue  []op
	wake   chan struct{} // capacity 1: the worker has something to do
	closed bool
	// last is the result of each session's latest write not yet done; the
	// session's next write waits for it.
	last map[string]*result
	// headers are the restoration headers of sessions just created, until
	// their first event carries them to the store (restore.go).
	headers map[string]*Header

	done chan struct{} // closed when the worker has drained and exited
	rs   resender      // retries of failed event writes (resend.go)
	// fastEncode: Event and Header are the layout appendStored writes.
	fastEncode bool
}

// op is a record write run by the worker, in order.
type op struct {
	created *chat.Info
	closed  *chat.Final
	result  *result
}

// result completes when an op has run.
type result struct {
	done chan struct{}
	err  error
}

// Done is closed when the write has run.
func (r *result) Done() <-chan struct{} { return r.done }

func (r *result) Wait(ctx context.Context) error {
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// New starts a Journal.
func New(opts Options) *Journal {
	if opts.ContactKeys == nil {
		opts.ContactKeys = DefaultContactKeys
	}
	if opts.AutoSave == nil {
		opts.AutoSave = func() int { return 0 }
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	j := &Journal{opts: opts, wake: make(chan struct{}, 1), done: make(chan struct{}), last: make(map[string]*result), headers: make(map[string]*Header),
		fastEncode: storedLayoutKnown()}
	go j.run()
	return j
}

// SessionCreated queues the creation of the interaction record.
func (j *Journal) SessionCreated(info *chat.Info) chat.Waiter {
	c := *info
	j.stashHeader(&c)
	c.CreatorSecret = ""
	return j.enqueue(op{created: &c})
}

// SessionUpdated is a no-op: user data changes reach the record when the
// session closes.
func (j *Journal) SessionUpdated(*chat.Info) chat.Waiter { return nil }

// EventAppended writes the event to the intermediate transcript when
// transcript-auto-save is on. Typing notices are written too, so that every
// position a party has seen is kept across a restoration; a restored session
// drops them. The first event carries the session's restoration header.
func (j *Journal) EventAppended(sessionID string, ev *chat.Event) chat.Waiter {
	h := j.takeHeader(sessionID, ev.Pos)
	if j.opts.AutoSave() == 0 {
		return nil
	}
	// Encoded by the store's writer, not here under the session's lock (deferred.go).
	row := store.EventRow{SessionID: sessionID, Position: int64(ev.Pos), EventID: int64(ev.ID()), Time: ev.Time}
	if j.opts.Epoch != nil {
		row.Epoch = j.opts.Epoch(sessionID)
	}
	if j.resendPolicy().Attempts <= 0 {
		row.Encoder = j.deferEvent(ev, h)
		return j.opts.Store.AppendEvent(context.Background(), row)
	}
	// With retries, the write and its deferred encoding are one allocation
	// (the row's Encoder points into the eventWrite), not two.
	w := &eventWrite{j: j, sid: sessionID, epoch: row.Epoch}
	j.deferInto(&w.enc, ev, h)
	w.t = j.opts.Store.AppendEvent(context.Background(), w.row())
	return w
}

// SessionClosed queues the final transcript and closed status.
func (j *Journal) SessionClosed(final *chat.Final) chat.Waiter {
	c := *final
	j.takeHeader(final.ID, 0)
	return j.enqueue(op{closed: &c})
}

func (j *Journal) enqueue(o op) chat.Waiter {
	o.result = &result{done: make(chan struct{})}
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		o.result.err = store.ErrClosed
		close(o.result.done)
		return o.result
	}
	j.queue = append(j.queue, o)
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	return o.result
}

func (j *Journal) run() {
	defer close(j.done)
	var inflight sync.WaitGroup
	sem := make(chan struct{}, maxParallel)
	for {
		j.mu.Lock()
		batch := j.queue
		j.queue = nil
		closed := j.closed
		j.mu.Unlock()
		for _, o := range batch {
			sem <- struct{}{}
			id := o.sessionID()
			j.mu.Lock()
			prev := j.last[id]
			j.last[id] = o.result
			j.mu.Unlock()
			inflight.Add(1)
			go func() {
				defer func() { <-sem; inflight.Done() }()
				if prev != nil {
					<-prev.done // a session's writes keep their order
				}
				o.result.err = j.applyRetrying(o)
				close(o.result.done)
				j.mu.Lock()
				if j.last[id] == o.result {
					delete(j.last, id)
				}
				j.mu.Unlock()
			}()
		}
		if len(batch) == 0 {
			if closed {
				inflight.Wait()
				return
			}
			<-j.wake
		}
	}
}

// maxParallel bounds the record writes in flight at once. Writes of
// different sessions run concurrently, so the store's group-commit writer
// puts many of them in one transaction and a slow close never holds up
// another session's creation; a session's own writes (its creation, then its
// close) run in order.
const maxParallel = 512

func (o op) sessionID() string {
	if o.created != nil {
		return o.created.ID
	}
	return o.closed.ID
}

func (j *Journal) apply(o op) error {
	ctx := context.Background()
	switch {
	case o.created != nil:
		err := j.create(ctx, o.created)
		if err != nil {
			j.opts.Log.Error("history: create interaction", "session", o.created.ID, "err", err)
		}
		return err
	case o.closed != nil:
		err := j.close(ctx, o.closed)
		if err != nil {
			j.opts.Log.Error("history: write final transcript", "session", o.closed.ID, "err", err)
		}
		return err
	}
	return nil
}

// Identification modes of the IdentifyCreateContact user data key.
const (
	keyIdentifyCreate = "IdentifyCreateContact"
	identifyNone      = "1"
	identifyOnly      = "2"
)

// contactAttributes picks the user-data keys that may become contact
// attributes: the configured ones and the identifying keys.
func (j *Journal) contactAttributes(ud kv.Map) map[string]string {
	attrs := map[string]string{}
	if j.opts.ContactAttributes == nil {
		for k, v := range ud {
			if s, ok := v.(string); ok {
				attrs[k] = s
			}
		}
		return attrs
	}
	for _, names := range [][]string{j.opts.ContactAttributes(), j.opts.ContactKeys} {
		for _, k := range names {
			if s, ok := ud[k].(string); ok {
				attrs[k] = s
			}
		}
	}
	return attrs
}

func (j *Journal) create(ctx context.Context, info *chat.Info) error {
	attrs := j.contactAttributes(info.UserData)
	var contactID string
	if mode := info.UserData.String(keyIdentifyCreate); mode != identifyNone {
		id, _, err := j.opts.Store.IdentifyContact(ctx, attrs, j.opts.ContactKeys, mode != identifyOnly)
		if err != nil {
			return fmt.Errorf("identify contact of session %s: %w", info.ID, err)
		}
		contactID = id
	}
	ud, err := jsonw.MarshalMap(info.UserData)
	if err != nil {
		return fmt.Errorf("encode user data of session %s: %w", info.ID, err)
	}
	err = j.opts.Store.CreateInteraction(ctx, store.Interaction{
		ID: info.ID, SessionID: info.ID, Tenant: info.Tenant, Endpoint: info.Endpoint, Queue: info.Queue,
		ContactID: contactID, Subject: historySubject(info), UserData: ud, Status: store.StatusOpen,
		State: "queued", CreatedAt: info.CreatedAt,
	})
	if err != nil {
		return fmt.Errorf("create interaction %s: %w", info.ID, err)
	}
	if j.opts.OnContact != nil {
		j.opts.OnContact(info.ID, contactID) // the record exists now: routing's writes find it
	}
	return nil
}

func (j *Journal) close(ctx context.Context, f *chat.Final) error {
	// Streamed: the store's writer encodes the transcript from the session's
	// events when the close's turn comes, into the buffer it binds, so no
	// finished copy waits in the queue beside the events.
	transcript := store.JSONWriter{Size: finalSize(f), Write: func(w io.Writer) error {
		if err := writeFinal(w, f, j.fastEncode); err != nil {
			return fmt.Errorf("encode final transcript of session %s: %w", f.ID, err)
		}
		return nil
	}}
	if j.opts.FinalFromStore && j.fastEncode && j.opts.AutoSave() != 0 {
		transcript.Events = finalEvents(f)
	}
	var err error
	stats := json.RawMessage(`{}`)
	if len(f.Stats) > 0 {
		if stats, err = jsonw.MarshalMap(f.Stats); err != nil {
			return fmt.Errorf("encode statistics of session %s: %w", f.ID, err)
		}
	}
	// The record's user data belong to routing, which attaches its keys to
	// them (the statistics among them); nil leaves them as stored.
	var userData json.RawMessage
	if j.opts.Attached != nil {
		userData = j.opts.Attached(f)
	}
	// The session's intermediate events were queued before its close; wait
	// for them so none lands after the closing transaction drops them.
	if f.LastWrite != nil {
		if err := f.LastWrite.Wait(ctx); err != nil {
			j.opts.Log.Warn("history: an intermediate event of a closed session failed", "session", f.ID, "err", err)
		}
	}
	if j.opts.BeforeClose != nil {
		if err := j.opts.BeforeClose(ctx, f.ID); err != nil {
			return fmt.Errorf("close interaction %s: not written: %w", f.ID, err)
		}
	}
	// One transaction: final transcript, closed status, attached data,
	// statistics, and the intermediate transcript dropped.
	if err := j.opts.Store.CloseInteraction(ctx, f.ID, f.ClosedAt, transcript, stats, userData); err != nil {
		return fmt.Errorf("close interaction %s: %w", f.ID, err)
	}
	if j.opts.OnClosed != nil {
		j.opts.OnClosed(f.ID)
	}
	return nil
}

func (j *Journal) clock() clock.Clock {
	if j.opts.Clock == nil {
		return clock.Real()
	}
	return j.opts.Clock
}

// Close waits until every queued record write has run; writes queued later
// fail with store.ErrClosed. It does not close the store.
func (j *Journal) Close(ctx context.Context) error {
	j.rs.halt() // retries in progress end with their last error
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	select {
	case <-j.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("history: close: %w", ctx.Err())
	}
}

// failed is a Waiter that reports an error at once.
type failed struct{ err error }

func (f failed) Wait(context.Context) error { return f.err }

var _ chat.Journal = (*Journal)(nil)
