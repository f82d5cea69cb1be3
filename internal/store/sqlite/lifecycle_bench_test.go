package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

// A session lifecycle as the server writes it in the dense benchmark
// (measured on a dense run's database: every closed record at version 5,
// 15 events of about 285 bytes, a final transcript of about 4.9 KB, user
// data of about 280 bytes, statistics of about 150): the history creates
// the record (state queued), routing writes it once queued, the events
// arrive, routing writes the agent's accept (assigned), the history closes
// it with its final transcript and statistics, and routing writes the
// closed state (offline) once the close has landed.
const (
	lcEvents   = 15
	lcSteps    = lcEvents + 5 // create, queued, events, assigned, close, offline
	lcEventLen = 285
	lcFinalLen = 4900
)

// lifecycleRun drives lifecycles through a store: open sessions are kept
// in flight, each batch (one transaction, formed by holding the writer
// while its writes are queued) advances perBatch randomly chosen ones by
// one step, and a finished session is replaced by a new one.
type lifecycleRun struct {
	s        *Store
	rnd      *rand.Rand
	open     []*lcSession
	next     int
	done     int // lifecycles finished
	perBatch int
	ud       json.RawMessage
	final    string
	event    string
	meter    *flushMeter // if set, the store's Options.OnBatch
}

type lcSession struct {
	id   string
	step int
	at   time.Time
}

func newLifecycleRun(s *Store, open, perBatch int) *lifecycleRun {
	r := &lifecycleRun{s: s, rnd: rand.New(rand.NewPCG(1, 2)), perBatch: perBatch}
	r.ud = json.RawMessage(`{"BenchRun":"ciyens","ChatServerAppName":"confab","ChatServerSessionId":"uTrq7fQBnue6bK2Y",` +
		`"ChatServerSessionStartedAt":"2026-12-01T23:37:48.794Z","IsOnline":"1","Subject":"bench dense","csg_MediaType":"chat","csg_TenantId":"1"}`)
	r.final = `{"sessionId":"x","events":["` + strings.Repeat("f", lcFinalLen-30) + `"]}`
	r.event = `{"kind":"message","text":"` + strings.Repeat("e", lcEventLen-30) + `"}`
	for range open {
		// Staggered: the open sessions are at every stage of their lives.
		s := r.newSession()
		s.step = r.rnd.IntN(lcSteps - 2) // none closed yet
		r.open = append(r.open, s)
	}
	return r
}

func (r *lifecycleRun) newSession() *lcSession {
	r.next++
	// Random ids, as chat.NewSessionID's.
	return &lcSession{id: fmt.Sprintf("%016x", r.rnd.Uint64()), at: time.Unix(1_800_000_000, int64(r.next)*1000)}
}

// prime creates the records and stores the events of the open sessions'
// past steps, so that a measured run starts in the steady state.
func (r *lifecycleRun) prime(tb testing.TB) {
	ctx := context.Background()
	for _, s := range r.open {
		if s.step == 0 {
			continue
		}
		if err := r.s.CreateInteraction(ctx, r.record(s)); err != nil {
			tb.Fatal(err)
		}
		var tks []store.Ticket
		for st := 2; st < min(s.step, 2+lcEvents); st++ {
			tks = append(tks, r.s.AppendEvent(ctx, r.eventAt(s, int64(st-2))))
		}
		for _, tk := range tks {
			if err := tk.Wait(ctx); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

func (r *lifecycleRun) record(s *lcSession) store.Interaction {
	return store.Interaction{ID: s.id, SessionID: s.id, Tenant: "1", Endpoint: "default", Queue: "chat-queue",
		Subject: "bench dense", UserData: r.ud, Status: store.StatusOpen, State: "queued", CreatedAt: s.at}
}

func (r *lifecycleRun) eventAt(s *lcSession, pos int64) store.EventRow {
	return store.EventRow{SessionID: s.id, Position: pos, EventID: pos + 1, Time: s.at.Add(time.Duration(pos) * time.Second),
		Data: json.RawMessage(r.event)}
}

// batch advances perBatch sessions by one step in one transaction.
func (r *lifecycleRun) batch(tb testing.TB) {
	ctx := context.Background()
	release := hold(tb, r.s)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	var tks []store.Ticket
	queued := func(f func() error) { // a synchronous write, queued before the next
		before := r.s.gc.Stats().Pending
		wg.Go(func() {
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
		for r.s.gc.Stats().Pending == before {
			runtime.Gosched()
		}
	}
	picked := map[int]bool{}
	for len(picked) < min(r.perBatch, len(r.open)) {
		picked[r.rnd.IntN(len(r.open))] = true
	}
	for i := range picked {
		s := r.open[i]
		switch st := s.step; {
		case st == 0:
			queued(func() error { return r.s.CreateInteraction(ctx, r.record(s)) })
		case st == 1:
			tks = append(tks, r.s.UpdateRouting(ctx, store.RoutingUpdate{ID: s.id, State: "queued", UserData: r.ud}))
		case st == 2+5:
			tks = append(tks, r.s.UpdateRouting(ctx, store.RoutingUpdate{ID: s.id, State: "assigned", UserData: r.ud}))
		case st >= 2 && st < 2+lcEvents+1:
			pos := int64(st - 2)
			if st > 2+5 {
				pos--
			}
			tks = append(tks, r.s.AppendEvent(ctx, r.eventAt(s, pos)))
		case st == lcSteps-2:
			queued(func() error {
				return r.s.CloseInteraction(ctx, s.id, s.at.Add(35*time.Second), store.Bytes(json.RawMessage(r.final)),
					json.RawMessage(`{"ChatServerSessionClosedAt":"2026-12-01T23:37:59.280Z","csg_MediaType":"chat","csg_TenantId":"1"}`), r.ud)
			})
		default: // the last step
			tks = append(tks, r.s.UpdateRouting(ctx, store.RoutingUpdate{ID: s.id, State: "offline", UserData: r.ud}))
		}
		s.step++
		if s.step == lcSteps {
			r.open[i] = r.newSession()
			r.done++
		}
	}
	release()
	wg.Wait()
	for _, tk := range tks {
		if err := tk.Wait(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for _, err := range errs {
		tb.Fatal(err)
	}
}

// lifecycleCost is what a run wrote per finished lifecycle.
type lifecycleCost struct {
	pages, walBytes float64
	flushMicros     float64 // the writer's time in its lifecycle batches (statements and commit)
	cpuMicros       float64 // the process's CPU (user and system), harness included
	lifecycles      int
}

// flushMeter sums the flush time of the batches of more than one write
// (Options.OnBatch): a lifecycle batch, not the batch of hold's write,
// which waits for its release.
type flushMeter struct{ ns atomic.Int64 }

func (m *flushMeter) onBatch(n, failed int, took time.Duration) {
	if n > 1 {
		m.ns.Add(int64(took))
	}
}

// processCPU is the CPU time the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs batches until n more lifecycles finished.
func (r *lifecycleRun) measure(tb testing.TB, n int) lifecycleCost {
	pages0, done0 := r.s.w.pages.Load(), r.done
	var flush0 int64
	if r.meter != nil {
		flush0 = r.meter.ns.Load()
	}
	cpu0 := processCPU()
	for r.done-done0 < n {
		r.batch(tb)
	}
	k := float64(r.done - done0)
	p := float64(r.s.w.pages.Load()-pages0) / k
	// A WAL frame is a page and its 24-byte header.
	c := lifecycleCost{pages: p, walBytes: p * float64(r.s.pageSize+24), lifecycles: r.done - done0,
		cpuMicros: float64((processCPU() - cpu0).Microseconds()) / k}
	if r.meter != nil {
		c.flushMicros = float64(time.Duration(r.meter.ns.Load()-flush0).Microseconds()) / k
	}
	return c
}

// BenchmarkLifecycle reports the pages (and WAL bytes) the writer writes
// per session lifecycle in a dense-like steady state: 2,000 open sessions,
// 20 writes per transaction (dense at 10,000 sessions: about 250 commits
// and 5,000 writes a second), after 2,000 lifecycles of warm-up so that the
// table holds closed records too.
func BenchmarkLifecycle(b *testing.B) {
	ctx := context.Background()
	m := &flushMeter{}
	s, err := Open(ctx, b.TempDir(), Options{Synchronous: SyncNormal, CommitWindow: -1, OnBatch: m.onBatch})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	r := newLifecycleRun(s, 2000, 20)
	r.meter = m
	r.prime(b)
	r.measure(b, 2000)
	b.ResetTimer()
	var sum lifecycleCost
	for b.Loop() {
		c := r.measure(b, 500)
		sum.pages += c.pages
		sum.walBytes += c.walBytes
		sum.flushMicros += c.flushMicros
		sum.cpuMicros += c.cpuMicros
		sum.lifecycles++
	}
	k := float64(sum.lifecycles)
	b.ReportMetric(sum.pages/k, "pages/lifecycle")
	b.ReportMetric(sum.walBytes/1024/k, "WAL-KiB/lifecycle")
	b.ReportMetric(sum.flushMicros/k, "flush-µs/lifecycle")
	b.ReportMetric(sum.cpuMicros/k, "cpu-µs/lifecycle")
}

// TestLifecyclePages runs 300 lifecycles with 300 sessions open (20 writes
// a transaction) and bounds the pages written per lifecycle: with the
// record keyed by random session ids, its final transcript in the row and
// every state change moving an index entry (schema version 8), a lifecycle
// wrote 20.0 pages at this size; keyed for appends (migration 0009), 16.7.
func TestLifecyclePages(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{Synchronous: SyncNormal, CommitWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	r := newLifecycleRun(s, 300, 20)
	r.prime(t)
	r.measure(t, 300)
	c := r.measure(t, 300)
	t.Logf("%d lifecycles: %.1f pages (%.0f KiB of WAL) each", c.lifecycles, c.pages, c.walBytes/1024)
	if c.pages > 18.5 {
		t.Fatalf("a lifecycle wrote %.1f pages, want at most 18.5", c.pages)
	}
	// The records read back as written.
	in, err := s.GetInteraction(ctx, r.open[0].id)
	if err != nil {
		t.Fatal(err)
	}
	if in.State == "" || in.Status != store.StatusOpen {
		t.Fatalf("open record %+v", in)
	}
	closed, err := s.ListInteractions(ctx, store.InteractionFilter{State: "offline", Limit: 5, WithTranscript: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(closed) != 5 || string(closed[0].Transcript) != r.final || closed[0].Status != store.StatusClosed {
		t.Fatalf("%d closed records listed by state; first %+v", len(closed), closed[0].ID)
	}
}
