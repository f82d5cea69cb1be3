package kpi

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// APIs requests are counted for; the label values of api.
var apiNames = []string{"webapi", "agent", "esp", "admin", "health", "other"}

// apiCounters are the cumulative request counters of one API.
type apiCounters struct {
	requests, errors, timeMs *Counter
}

// requests keeps the per-API counters and the per-operation latency
// histograms. An operation name comes from the route pattern that served
// the request, never from user input, so the label sets stay bounded.
type requests struct {
	apis     map[string]*apiCounters
	duration *prometheus.HistogramVec
	commit   prometheus.Histogram

	// ops maps api + "\x00" + op to its histogram. It is copied on write
	// (a new operation is rare), so a lookup is a plain map read.
	ops atomic.Pointer[map[string]prometheus.Observer]
	mu  sync.Mutex // serialises writers of ops
}

func (r *requests) init(s *Set) {
	r.apis = make(map[string]*apiCounters, len(apiNames))
	r.ops.Store(&map[string]prometheus.Observer{})
	for _, api := range apiNames {
		r.apis[api] = &apiCounters{
			requests: s.addLabelled("request_"+api, "confab_requests_total", "api", api, "Requests served by the "+api+" API: HTTP requests (a WebSocket counts once) and, for agent, every request frame."),
			errors:   s.addLabelled("request_error_"+api, "confab_request_errors_total", "api", api, "Requests of the "+api+" API answered with HTTP status 400 or above (agent frames: with an error frame)."),
			timeMs:   s.addLabelled("request_time_"+api+"_ms", "confab_request_processing_milliseconds_total", "api", api, "Time spent processing requests of the "+api+" API, in milliseconds (WebSocket lifetimes and long polls excluded)."),
		}
	}
	r.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "confab_request_duration_seconds",
		Help:    "Time to answer one request, by API and operation (WebSocket lifetimes excluded).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"api", "op"})
	r.commit = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "confab_store_commit_duration_seconds",
		Help:    "Time to write and commit one store transaction (one group-commit batch).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
	})
}

// Request counts one answered request of api (one of webapi, agent, esp,
// admin, health; anything else counts as other) and operation op, with
// its HTTP status and processing time. long marks requests whose duration
// is not processing time (WebSockets, long polls): they are counted but
// their time is left out.
func (s *Set) Request(api, op string, status int, d time.Duration, long bool) {
	ac := s.requests.apis[api]
	if ac == nil {
		api, ac = "other", s.requests.apis["other"]
	}
	ac.requests.Inc()
	if status >= 400 {
		ac.errors.Inc()
	}
	if long {
		return
	}
	ac.timeMs.Add(d.Milliseconds())
	s.requests.observer(api, op).Observe(d.Seconds())
}

// observer returns the histogram of (api, op); the lookup builds its key
// on the stack, so counting a request allocates nothing.
func (r *requests) observer(api, op string) prometheus.Observer {
	var buf [96]byte
	key := append(append(append(buf[:0], api...), 0), op...)
	if o := (*r.ops.Load())[string(key)]; o != nil {
		return o
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.ops.Load()
	if o := old[string(key)]; o != nil {
		return o
	}
	o := r.duration.WithLabelValues(api, op)
	next := make(map[string]prometheus.Observer, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[string(key)] = o
	r.ops.Store(&next)
	return o
}

// Commit counts one store transaction of n writes, of which failed failed,
// that took d.
func (s *Set) Commit(n, failed int, d time.Duration) {
	s.StoreCommits.Inc()
	s.StoreWrites.Add(int64(n - failed))
	s.StoreFailures.Add(int64(failed))
	s.StoreCommitMs.Add(d.Milliseconds())
	s.requests.commit.Observe(d.Seconds())
}

// Histograms returns the Prometheus histograms the Set keeps, for a
// registry.
func (s *Set) Histograms() []prometheus.Collector {
	return []prometheus.Collector{s.requests.duration, s.requests.commit}
}
