package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/client/esp"
)

// scenario is one of the four load shapes.
type scenario struct {
	// agents returns how many agent sockets the run needs.
	agents func(o *Options) int
	run    func(ctx context.Context, e *env, res *Result) error
	// verify, when set, runs after the measured phase and its figures:
	// checks that may restart the server.
	verify func(ctx context.Context, e *env, res *Result) error
}

func scenarioOf(name string) scenario {
	switch name {
	case "dense":
		return scenario{agents: denseAgents, run: runDense}
	case "async":
		return scenario{agents: asyncAgents, run: runAsync}
	case "churn":
		return scenario{agents: func(*Options) int { return 0 }, run: runChurn, verify: verifyChurn}
	case "cometd":
		return scenario{agents: func(*Options) int { return 0 }, run: runCometD}
	case "abuse":
		return scenario{agents: func(*Options) int { return 0 }, run: runAbuse, verify: verifyAbuse}
	default:
		return scenario{agents: throughputAgents, run: runThroughput}
	}
}

// agentsFor returns how many agent sockets hold n sessions at perAgent each.
func agentsFor(n, perAgent int) int {
	if n <= 0 {
		return 0
	}
	return (n + perAgent - 1) / perAgent
}

// Run runs one scenario against a child server (or o.Target) and returns its
// result. A run that measured but found a correctness failure returns a
// Result whose Pass is false and whose Failures say why, and no error; an
// error means the run could not be carried out.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.Defaults(); err != nil {
		return nil, err
	}
	// A safety net: a stuck server or step cannot hold the run forever.
	ctx, cancel := context.WithTimeout(ctx, 4*(o.Duration+o.SessionLength)+15*time.Minute)
	defer cancel()
	// The progress sampler and the scenario's own log lines write from
	// different goroutines: one lock keeps the writer safe and the lines whole.
	var logw io.Writer
	if o.Progress != nil {
		logw = &lockedWriter{w: o.Progress}
	}
	nofile, ferr := RaiseFileLimit()
	res := newResult(&o)
	res.Machine.FileLimit = nofile
	if ferr != nil {
		fmt.Fprintf(logw, "warning: %v\n", ferr)
	}
	sc := scenarioOf(o.Scenario)

	var proc *Process
	urls := Endpoints{}
	adminToken, espToken := o.AdminToken, o.ESPToken
	nAgents := sc.agents(&o)
	tokens := o.AgentTokens
	if o.Target != nil {
		urls = *o.Target
	} else {
		var err error
		bs, err := setupStore(ctx, &o) // pgstore.go
		if err != nil {
			return nil, err
		}
		defer bs.cleanup()
		res.Store = bs.name
		logf(logw, "starting %s serve (store %s) ...", o.Exe, bs.name)
		prepare := func(dataDir string) error {
			if nAgents == 0 {
				return nil
			}
			t0 := time.Now()
			var extra []string
			if o.Offers {
				extra = []string{"--queues", "default", "--capacity", strconv.Itoa(min(o.SessionsPerAgent, 100))}
			}
			tokens, err = createAgents(ctx, o.Exe, dataDir, nAgents, append(extra, bs.agentFlags...)...)
			logf(logw, "created %d agents in %v", nAgents, time.Since(t0).Round(time.Millisecond))
			return err
		}
		extra := o.ServerConfig + bs.config
		if o.Scenario == "abuse" {
			extra = abuseConfig + extra
		}
		proc, err = StartServer(ctx, ServerOptions{Exe: o.Exe, Env: o.ServerEnv, ExtraConfig: extra, AutoSave: o.AutoSave, Prepare: prepare})
		if err != nil {
			return nil, err
		}
		defer proc.Kill()
		urls, adminToken, espToken = proc.URLs, proc.AdminToken, proc.ESPToken
		logf(logw, "server pid %d: webapi %s agent %s esp %s (data %s)", proc.Pid, urls.WebAPI, urls.Agent, urls.ESP, proc.DataDir)
	}
	if err := checkLocal(urls); err != nil {
		return nil, err
	}
	res.Target = urls

	m := NewMetrics()
	tr := NewTracker(m.start, filler, m.RecordLatency)
	hc := newHTTPClient(o.StdHTTP)
	defer hc.CloseIdleConnections()
	e := &env{
		o: &o, urls: urls, runID: strconv.FormatInt(time.Now().UnixNano()%1e9, 36),
		service: "customer-support", hc: hc,
		chat: chatv2.New(urls.WebAPI+"/genesys/2/chat", chatv2.Options{HTTPClient: hc}),
		esp:  esp.New(urls.ESP, espToken, hc),
		m:    m, tr: tr, log: logw, proc: proc, adminToken: adminToken,
	}

	if n := nAgents; n > 0 {
		if len(tokens) < n {
			return nil, fmt.Errorf("scenario %s needs %d agent tokens (at %d sessions per agent), have %d",
				o.Scenario, n, o.SessionsPerAgent, len(tokens))
		}
		pool, err := e.dialAgents(ctx, tokens[:n])
		if err != nil {
			return nil, err
		}
		e.agents = pool
		defer pool.close()
		if o.Offers {
			if err := pool.ready(ctx); err != nil {
				return nil, err
			}
		}
	}

	// Baseline, then the measured phase.
	var base ProcStat
	if proc != nil {
		base, _ = proc.Stat()
		res.ServerRSSBaselineBytes = base.RSS
	}
	res.LoadAvgStart = loadAvg()
	smp := newSampler(m, tr, proc)
	sctx, stopSampling := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sampleLoop(sctx, smp, logw, o.ProgressEvery)
	}()
	tl := newTimeline(urls.Health, m.start) // timeline.go
	if urls.Health != "" {
		wg.Go(func() { tl.run(sctx) })
	}
	logf(logw, "running %s: %s", o.Scenario, describe(&o))
	start, genCPU, genSys, gen0 := time.Now(), selfCPU(), selfSystemCPU(), readGenMark()
	runErr := sc.run(ctx, e, res)
	if o.Offers && e.agents != nil {
		e.agents.offerResults(res)
	}
	res.DurationSec = time.Since(start).Seconds()
	res.GeneratorCPUSeconds = round3(selfCPU() - genCPU)
	res.GeneratorSystemCPUSeconds = round3(selfSystemCPU() - genSys)
	res.setGenerator(genSpan(gen0, readGenMark())) // genstats.go
	stopSampling()
	wg.Wait()
	smp.take()
	res.LoadAvgEnd = loadAvg()

	if proc != nil {
		if st, err := proc.Stat(); err == nil {
			res.ServerCPUSeconds = st.CPUSeconds - base.CPUSeconds
			res.ServerRSSPeakBytes = st.HWM
			res.ServerRSSEndBytes = st.RSS
			res.ServerThreads = st.Threads
		} else {
			res.addFailure("server process: %v", err)
		}
		if !proc.Alive() {
			res.addFailure("the server exited during the run; log:\n%s", proc.logTail(20))
		}
	}
	if e.agents != nil {
		e.agents.close()
		e.agents = nil
	}
	if sc.verify != nil && runErr == nil {
		if err := sc.verify(ctx, e, res); err != nil {
			res.addFailure("verify: %v", err)
		}
	}
	if proc != nil {
		final, err := proc.Stop(15 * time.Second)
		if err != nil {
			res.addWarning("server stop after the run: %v", err)
		}
		res.ServerCPUSecondsTotal = final.CPUSeconds
		if final.HWM > res.ServerRSSPeakBytes {
			res.ServerRSSPeakBytes = final.HWM
		}
	}
	res.fill(m, tr, smp.all())
	res.StoreTimeline, res.StoreTimelineNote = tl.result()
	if l := lateSeconds(res, goalDenseP99Ms); l.Seconds > 0 {
		res.Late = &l
	}
	if runErr != nil {
		res.addFailure("scenario: %v", runErr)
	}
	res.judge()
	return res, nil
}

// sampleLoop takes a sample every second and prints a progress line every
// `every`.
func sampleLoop(ctx context.Context, s *sampler, w interface{ Write([]byte) (int, error) }, every time.Duration) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastPrint := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			smp := s.take()
			if w != nil && time.Since(lastPrint) >= every-100*time.Millisecond {
				lastPrint = time.Now()
				fmt.Fprintln(w, progressLine(smp, s))
			}
		}
	}
}

func progressLine(smp Sample, s *sampler) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%5.0fs load %.1f] sessions open %d (max %d) created %d closed %d | msgs sent %.0f/s delivered %.0f/s | p50 %.1fms p99 %.1fms | errors %d",
		smp.T, smp.Load1, smp.Concurrent, s.m.ConcurrentMax(), s.m.SessionsCreated.Load(), s.m.SessionsClosed.Load(),
		smp.Sent, smp.Delivered, smp.LatencyP50Ms, smp.LatencyP99Ms, smp.Errors)
	if smp.Errors > 0 {
		fmt.Fprintf(&b, " (%s)", topErrors(s.m.Errors(), 3))
	}
	if bad := s.tr.Lost.Load() + s.tr.Duplicated.Load() + s.tr.Leaked.Load() + s.tr.Reordered.Load(); bad > 0 {
		fmt.Fprintf(&b, " | CORRECTNESS %d", bad)
	}
	if s.proc != nil {
		fmt.Fprintf(&b, " | server cpu %.0f%% rss %s", smp.ServerCPU, mib(smp.ServerRSS))
	}
	return b.String()
}

func describe(o *Options) string {
	switch o.Scenario {
	case "dense":
		return fmt.Sprintf("%d concurrent sessions of %v, new ones for %v, %s customers", o.Sessions, o.SessionLength, o.Duration, o.Customers)
	case "async":
		return fmt.Sprintf("%d sessions, 1 in %d active, held %v, %s customers", o.Sessions, o.ActiveEvery, o.Duration, o.Customers)
	case "churn":
		return fmt.Sprintf("%d workers opening and closing sessions for %v", o.Sessions, o.Duration)
	case "cometd":
		return fmt.Sprintf("%d CometD customers (half websocket, half long-polling), the workflow writing to 1 in %d every %v for %v", o.Sessions, o.ActiveEvery, o.MessageInterval, o.Duration)
	case "abuse":
		return fmt.Sprintf("%d well-behaved customers for %v, floods in the second half", o.Sessions, o.Duration)
	}
	return fmt.Sprintf("%d sessions sending as fast as they can for %v, %s customers", o.Sessions, o.Duration, o.Customers)
}

func logf(w interface{ Write([]byte) (int, error) }, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

func mib(b int64) string { return fmt.Sprintf("%.0fMiB", float64(b)/(1<<20)) }

// load1 returns the 1-minute load average, 0 if unknown.
func load1() float64 {
	f := strings.Fields(loadAvg())
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// selfCPU returns this process's user+system CPU seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
}

// selfSystemCPU returns this process's system CPU seconds (the kernel's
// share of selfCPU: mostly the sockets' reads and writes).
func selfSystemCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return tvSeconds(ru.Stime)
}

// loadAvg returns the 1-, 5- and 15-minute load averages, "" if unknown.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	rss, _, _ := parseProcStatus(strings.Replace(string(b), "MemTotal", "VmRSS", 1))
	return rss
}

// Machine describes where a run took place.
type Machine struct {
	NProc     int    `json:"nproc"`
	MemBytes  int64  `json:"mem_bytes"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Host      string `json:"host"`
	FileLimit uint64 `json:"nofile_limit"`
}

func thisMachine() Machine {
	return Machine{NProc: runtime.NumCPU(), MemBytes: memTotal(), GoVersion: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, Host: hostname()}
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex // guards w
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
