package server

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab/confab/internal/api/health"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kpi"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/limiter"
	"github.com/confab/confab/internal/limits"
	"github.com/confab/confab/internal/loglevel"
	"github.com/confab/confab/internal/oplog"
	"github.com/confab/confab/internal/stats"
)

// ops is the operator's half of a node: its KPI counters, load limits,
// reporting statistics and the health API.
type ops struct {
	counters *kpi.Set
	limits   *limits.Controller
	printer  *kpi.Printer
	// logContentSet: the file sets [health-service] log-output-content
	// (removing it resets the counters).
	logContentSet bool
	routes        sync.Map // route pattern → route
	// authLog bounds the "authentication failed" lines: a flood of bad
	// credentials must not cost a log write each.
	authLog limiter.Gate
}

// initOps creates the counters and the load limits, which the store and
// the engine report to, applies [log] verbose and names the options of
// the configuration file that have no effect yet.
func (s *Server) initOps() {
	cfg := s.cfg.Load()
	s.level.Set(loglevel.FromVerbose(cfg.Log.Verbose))
	s.warnUnimplemented()
	s.ops.logContentSet = s.fileSets("health-service", "log-output-content")
	s.ops.counters = kpi.New()
	s.ops.limits = limits.New(limits.Options{
		Clock:     s.clock,
		Settings:  func() limits.Settings { return limitSettings(s.cfg.Load()) },
		Sessions:  func() int { return s.engine.Alive() },
		FlexUsers: func() int { return int(s.ops.counters.FlexUsers.Value()) },
		Counters:  s.ops.counters,
		Log:       s.log.With("part", "limits"),
	})
}

func limitSettings(cfg *config.Config) limits.Settings {
	st := cfg.Settings
	return limits.Settings{
		Enabled: st.LimitsControlEnabled, Sessions: st.LimitForSessions, FlexUsers: st.LimitForFlexUsers,
		ReplyDelay: st.LimitForReplyDelay, Interval: st.LimitAverageInterval,
		RestorePercent: st.LimitsRestoreThreshold, Report: st.LimitsReachedReportSCS,
	}
}

// buildOps adds the counting journal and serves /Counters and /metrics on
// the health listener; the counters are printed to the log as
// [health-service] says.
func (s *Server) buildOps(p *parts) error {
	j := s.ops.counters.Journal()
	j.OnClosed = func() { s.ops.limits.Check() }
	p.addJournal(j)
	sessions := oplog.New(s.log.With("part", "sessions"))
	p.addJournal(sessions)
	p.addStop(sessions.Close)
	var collectors []prometheus.Collector
	if p.router != nil { // wire_routing_metrics.go
		routingCounters(s.ops.counters, p.router)
		collectors = append(collectors, queueCollector{router: p.router, cfg: s.cfg.Load})
	}
	p.add(config.PortHealth, health.New(health.Options{Counters: s.ops.counters, Collectors: collectors}), nil)
	s.ops.printer = s.ops.counters.StartPrinter(s.clock, s.log.With("part", "kpi"), func() kpi.PrintSettings {
		h := s.cfg.Load().Health
		return kpi.PrintSettings{Period: h.LogOutputTimeout, Always: h.LogOutputProviso == "always", Content: kpi.Content(h.LogOutputContent)}
	})
	p.addStop(s.ops.printer.Stop)
	return nil
}

// opsReloaded applies a reloaded configuration: the log level, the
// counters' log printing, the reset that removing log-output-content
// asks for, and the unimplemented-options warning.
func (s *Server) opsReloaded(cfg *config.Config) {
	s.level.Set(loglevel.FromVerbose(cfg.Log.Verbose))
	if s.ops.printer != nil {
		s.ops.printer.Reconfigure()
	}
	set := s.fileSets("health-service", "log-output-content")
	if s.ops.logContentSet && !set {
		s.ops.counters.Reset()
		s.log.Info("kpi counters reset: [health-service] log-output-content was removed")
	}
	s.ops.logContentSet = set
	s.ops.limits.Check()
	s.warnUnimplemented()
}

// warnUnimplemented logs one line naming every option the configuration
// file sets that Confab does not act on.
func (s *Server) warnUnimplemented() {
	if s.configPath == "" {
		return
	}
	if line := config.UnimplementedWarning(config.UnimplementedFile(s.configPath)); line != "" {
		s.log.Warn(line)
	}
}

// fileSets reports whether the configuration file sets the option to a
// non-empty value.
func (s *Server) fileSets(section, option string) bool {
	if s.configPath == "" {
		return false
	}
	data, err := os.ReadFile(s.configPath)
	if err != nil {
		return false
	}
	f, _ := config.ParseINI(s.configPath, data)
	if f == nil {
		return false
	}
	for _, sec := range f.Sections {
		if sec.Name != section {
			continue
		}
		for _, e := range sec.Entries {
			if e.Key == option && strings.TrimSpace(e.Value) != "" {
				return true
			}
		}
	}
	return false
}

// admit is the engine's admission check: the load limits.
func (s *Server) admit(restore bool) error { return s.ops.limits.Admit(restore) }

// statistics computes a closing session's reporting statistics per
// attach-session-statistics.
func (s *Server) statistics(f *chat.Final) kv.Map {
	return stats.Compute(f, statsOptions(s.cfg.Load()))
}

func statsOptions(cfg *config.Config) stats.Options {
	return stats.Options{Mode: stats.Mode(cfg.Settings.AttachSessionStatistics),
		IdleNotices: cfg.Inactivity.IncludeNotices, AsyncIdleNotices: cfg.Settings.AsyncIdleNotices}
}

// interim computes intermediate statistics of an async session per
// attach-stats-rep-events and attach-stats-rep-place, with the mode of
// attach-session-statistics.
func (s *Server) interim(f *chat.Final, ev *chat.Event) kv.Map {
	cfg := s.cfg.Load()
	st := cfg.Settings
	if st.AttachStatsRepPlace != "userdata" || st.AttachStatsRepEvents == stats.RepNone {
		return nil
	}
	return stats.Interim(f, ev, st.AttachStatsRepEvents, statsOptions(cfg))
}

// readyForWork reports whether the load limits let the node report ready.
func (s *Server) readyForWork() bool { return s.ops.limits.Ready() }

// agentConnected counts an agent socket opening or closing.
func (s *Server) agentConnected(open bool) {
	k := s.ops.counters
	if open {
		k.AgentConnects.Inc()
		k.AgentsConnected.Inc()
	} else {
		k.AgentDisconnects.Inc()
		k.AgentsConnected.Dec()
	}
}

// agentFrame counts one agent-protocol request frame like an HTTP
// request of the agent API, operation = the frame's op.
func (s *Server) agentFrame(op string, took time.Duration, failed bool) {
	status := http.StatusOK
	if failed {
		status = http.StatusBadRequest
	}
	s.ops.counters.Request("agent", op, status, took, false)
	s.ops.limits.ObserveDelay(took)
}

// customerAuthFailed counts a customer API request whose credentials
// matched no chat. It is logged at debug level only: customers polling a
// purged chat get the same answer.
func (s *Server) customerAuthFailed() {
	s.ops.counters.AuthFailures.Inc()
	s.log.Debug("authentication failed", "api", "webapi")
}

// onBatch counts one store commit.
func (s *Server) onBatch(n, failed int, took time.Duration) {
	s.ops.counters.Commit(n, failed, took)
	if failed > 0 {
		s.log.Error("store: writes failed", "batch", n, "failed", failed, "took", took)
	}
}

// route is what a route pattern is counted as.
type route struct {
	api, op string
	method  bool // the operation is the {method} path value (ESP)
	long    bool // WebSockets and streams: their duration is not processing time
}

// routeOf classifies a request by the pattern that served it; labels come
// from patterns, never from the request, so they stay few.
func (s *Server) routeOf(pattern string) route {
	if v, ok := s.ops.routes.Load(pattern); ok {
		return v.(route)
	}
	rt := classify(pattern)
	s.ops.routes.Store(pattern, rt)
	return rt
}

func classify(pattern string) route {
	if pattern == "" {
		return route{api: "other", op: "unmatched"}
	}
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		path, method = method, ""
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	rt := route{api: "other", op: "other"}
	switch segs[0] {
	case "genesys":
		rt.api = "webapi"
	case "agent":
		rt.api = "agent"
	case "api":
		rt.api = "admin"
	case "esp":
		rt.api = "esp"
	case "Counters", "metrics", "healthz", "readyz":
		rt.api = "health"
	}
	if strings.HasSuffix(path, "/") && path != "/" { // a catch-all
		return rt
	}
	for i := len(segs) - 1; i >= 0; i-- {
		seg := segs[i]
		if seg == "{method}" {
			rt.method = true
			break
		}
		if !strings.HasPrefix(seg, "{") {
			rt.op = seg
			break
		}
	}
	if rt.api == "webapi" && rt.op == "chat" {
		rt.op = "create"
	}
	rt.long = rt.op == "ws" || rt.op == "events"
	_ = method
	return rt
}

// instrument counts every request of a listener: by API and operation,
// its status and processing time (for the counters, the latency
// histograms and the reply-delay limit), and logs authentication failures
// without the credentials.
func (s *Server) instrument(next http.Handler) http.Handler {
	var writers sync.Pool // *statusWriter: no handler keeps its writer after it returns
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		sw, _ := writers.Get().(*statusWriter)
		if sw == nil {
			sw = new(statusWriter)
		}
		*sw = statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		took := time.Since(began)
		status, hijacked := sw.status, sw.hijacked
		*sw = statusWriter{}
		writers.Put(sw)
		if status == 0 {
			status = http.StatusOK
		}
		rt := s.routeOf(r.Pattern)
		op := rt.op
		if rt.method {
			op = "invalid"
			if status < 400 {
				op = r.PathValue("method") // an existing method: a bounded set
			}
		}
		long := rt.long || hijacked
		s.ops.counters.Request(rt.api, op, status, took, long)
		if !long && op != "refresh" { // long polls are waits, not delay
			s.ops.limits.ObserveDelay(took)
		}
		if status == http.StatusUnauthorized {
			s.ops.counters.AuthFailures.Inc()
			if ok, held := s.ops.authLog.Allow(s.clock.Now()); ok {
				s.log.Warn("authentication failed", "api", rt.api, "op", op, "remote", r.RemoteAddr, "not_logged_before", held)
			}
		}
	})
}

// statusWriter remembers the status of an answer. It passes Flush and
// Hijack through (Server-Sent Events, WebSockets).
type statusWriter struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.hijacked = true
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
