package bench

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Metrics gathers what a run measures besides correctness (the Tracker's
// job): sessions, errors by kind, the latency histograms and the per-second
// series. It is safe for concurrent use; counters are atomic, the error map
// has its own mutex.
type Metrics struct {
	start time.Time

	SessionsCreated atomic.Int64
	SessionsClosed  atomic.Int64
	concurrent      atomic.Int64
	concurrentMax   atomic.Int64

	// Latency holds every first delivery's end-to-end latency (ns);
	// interval the ones since the last sample.
	Latency  Histogram
	interval atomic.Pointer[Histogram]

	mu     sync.Mutex // guards errors and firstErr
	errors map[string]int64
	first  map[string]string // the first error text of each kind
}

// NewMetrics returns empty metrics whose clock starts now.
func NewMetrics() *Metrics {
	m := &Metrics{start: time.Now(), errors: map[string]int64{}, first: map[string]string{}}
	m.interval.Store(new(Histogram))
	return m
}

// RecordLatency records one delivery latency.
func (m *Metrics) RecordLatency(d time.Duration) {
	m.Latency.RecordDuration(d)
	m.interval.Load().RecordDuration(d)
}

// swapInterval returns the interval histogram and starts a fresh one.
func (m *Metrics) swapInterval() *Histogram { return m.interval.Swap(new(Histogram)) }

// SessionOpened counts a created session and updates the concurrency gauge.
func (m *Metrics) SessionOpened() {
	m.SessionsCreated.Add(1)
	n := m.concurrent.Add(1)
	for {
		max := m.concurrentMax.Load()
		if n <= max || m.concurrentMax.CompareAndSwap(max, n) {
			return
		}
	}
}

// SessionClosed counts a closed session.
func (m *Metrics) SessionClosed() {
	m.SessionsClosed.Add(1)
	m.concurrent.Add(-1)
}

// SessionAbandoned takes a session off the concurrency gauge without counting
// it closed (it failed, or the run ended with it open).
func (m *Metrics) SessionAbandoned() { m.concurrent.Add(-1) }

// Concurrent returns the sessions open now; ConcurrentMax the most at once.
func (m *Metrics) Concurrent() int64    { return m.concurrent.Load() }
func (m *Metrics) ConcurrentMax() int64 { return m.concurrentMax.Load() }

// Error counts an error of a kind (for example "customer.send"). A canceled
// context at the end of a run is not an error and is not counted.
func (m *Metrics) Error(kind string, err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	m.mu.Lock()
	m.errors[kind]++
	if _, ok := m.first[kind]; !ok {
		m.first[kind] = err.Error()
	}
	m.mu.Unlock()
}

// Errors returns the error counts by kind.
func (m *Metrics) Errors() map[string]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int64, len(m.errors))
	for k, v := range m.errors {
		out[k] = v
	}
	return out
}

// ErrorSamples returns the first error text of each kind.
func (m *Metrics) ErrorSamples() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.first))
	for k, v := range m.first {
		out[k] = v
	}
	return out
}

// ErrorTotal returns the number of errors of every kind.
func (m *Metrics) ErrorTotal() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for _, v := range m.errors {
		n += v
	}
	return n
}

// topErrors formats the n most frequent error kinds.
func topErrors(errs map[string]int64, n int) string {
	s := errorSummary(errs)
	parts := strings.SplitN(s, ", ", n+1)
	if len(parts) > n {
		parts = append(parts[:n], "...")
	}
	return strings.Join(parts, ", ")
}

// errorSummary formats the error counts on one line, most frequent first.
func errorSummary(errs map[string]int64) string {
	if len(errs) == 0 {
		return "none"
	}
	kinds := make([]string, 0, len(errs))
	for k := range errs {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if errs[kinds[i]] != errs[kinds[j]] {
			return errs[kinds[i]] > errs[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	var b strings.Builder
	for i, k := range kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(itoa(errs[k]))
	}
	return b.String()
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}

// Sample is one second (or so) of a run: the time series the HTML report
// draws and the JSON report carries.
type Sample struct {
	T               float64 `json:"t"` // seconds since the run started
	Sent            float64 `json:"sent_per_sec"`
	Delivered       float64 `json:"delivered_per_sec"`
	Created         float64 `json:"created_per_sec"`
	Closed          float64 `json:"closed_per_sec"`
	Concurrent      int64   `json:"concurrent_sessions"`
	LatencyP50Ms    float64 `json:"latency_p50_ms"`
	LatencyP99Ms    float64 `json:"latency_p99_ms"`
	LatencyMaxMs    float64 `json:"latency_max_ms"`
	ServerCPU       float64 `json:"server_cpu_percent"` // of one core
	ServerRSS       int64   `json:"server_rss_bytes"`
	Errors          int64   `json:"errors"`
	Load1           float64 `json:"loadavg1"`
	ProcSampleError string  `json:"proc_error,omitempty"`
	// Gen is the generator's own runtime in the same second (genstats.go).
	Gen GenPoint `json:"generator"`
}

// sampler takes a Sample every interval from the metrics, the tracker and the
// server process (may be nil for an external target).
type sampler struct {
	m    *Metrics
	tr   *Tracker
	proc *Process

	last      time.Time
	sent, dlv int64
	crt, cls  int64
	cpu       float64
	gen       genMark    // the generator's own figures at last
	mu        sync.Mutex // guards samples
	samples   []Sample
}

func newSampler(m *Metrics, tr *Tracker, proc *Process) *sampler {
	s := &sampler{m: m, tr: tr, proc: proc, last: time.Now(), gen: readGenMark()}
	if proc != nil {
		if st, err := proc.Stat(); err == nil {
			s.cpu = st.CPUSeconds
		}
	}
	return s
}

// take records one sample and returns it.
func (s *sampler) take() Sample {
	now := time.Now()
	dt := now.Sub(s.last).Seconds()
	if dt <= 0 {
		dt = 1e-9
	}
	s.last = now
	sent, dlv := s.tr.Sent.Load(), s.tr.Delivered.Load()
	crt, cls := s.m.SessionsCreated.Load(), s.m.SessionsClosed.Load()
	lat := s.m.swapInterval()
	p := lat.Summary()
	smp := Sample{
		T:            now.Sub(s.m.start).Seconds(),
		Sent:         float64(sent-s.sent) / dt,
		Delivered:    float64(dlv-s.dlv) / dt,
		Created:      float64(crt-s.crt) / dt,
		Closed:       float64(cls-s.cls) / dt,
		Concurrent:   s.m.Concurrent(),
		LatencyP50Ms: p.P50,
		LatencyP99Ms: p.P99,
		LatencyMaxMs: p.Max,
		Errors:       s.m.ErrorTotal(),
		Load1:        load1(),
	}
	s.sent, s.dlv, s.crt, s.cls = sent, dlv, crt, cls
	gen := readGenMark()
	smp.Gen = genPoint(s.gen, gen, dt)
	s.gen = gen
	if s.proc != nil {
		if st, err := s.proc.Stat(); err == nil {
			smp.ServerCPU = (st.CPUSeconds - s.cpu) / dt * 100
			smp.ServerRSS = st.RSS
			s.cpu = st.CPUSeconds
		} else {
			smp.ProcSampleError = err.Error()
		}
	}
	s.mu.Lock()
	s.samples = append(s.samples, smp)
	s.mu.Unlock()
	return smp
}

// all returns the samples taken so far.
func (s *sampler) all() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.samples...)
}
