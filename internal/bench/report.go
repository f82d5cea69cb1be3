package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is what a run measured. Its JSON form is the --json file; the keys
// the issue requires are scenario, sessions_created, sessions_closed,
// concurrent_sessions_max, messages_sent, messages_delivered,
// messages_delivered_per_sec, latency_ms{p50,p95,p99,max}, errors, lost,
// duplicated, server_cpu_seconds and server_rss_peak_bytes.
type Result struct {
	Scenario  string    `json:"scenario"`
	Command   string    `json:"command,omitempty"`
	Date      time.Time `json:"date"`
	Machine   Machine   `json:"machine"`
	Target    Endpoints `json:"target"`
	Customers string    `json:"customers"`
	// AutoSave is the server's transcript-auto-save ("1" unless the run
	// asked for another).
	AutoSave string `json:"auto_save,omitempty"`
	// Store is the child server's store: sqlite or postgres ("" with
	// --target).
	Store string `json:"store,omitempty"`
	// Options as resolved (defaults filled in).
	Sessions        int     `json:"option_sessions"`
	DurationOption  float64 `json:"option_duration_sec"`
	SessionLength   float64 `json:"option_session_length_sec,omitempty"`
	PollIntervalSec float64 `json:"option_poll_interval_sec,omitempty"`

	DurationSec           float64 `json:"duration_sec"`
	SessionsCreated       int64   `json:"sessions_created"`
	SessionsClosed        int64   `json:"sessions_closed"`
	ConcurrentSessionsMax int64   `json:"concurrent_sessions_max"`
	SessionsCreatedPerSec float64 `json:"sessions_created_per_sec"`
	SessionsClosedPerSec  float64 `json:"sessions_closed_per_sec"`
	// PeakClosedPerSec is the best one-second closing rate seen.
	PeakClosedPerSec float64 `json:"sessions_closed_per_sec_peak"`

	MessagesSent            int64       `json:"messages_sent"`
	MessagesDelivered       int64       `json:"messages_delivered"`
	MessagesSentPerSec      float64     `json:"messages_sent_per_sec"`
	MessagesDeliveredPerSec float64     `json:"messages_delivered_per_sec"`
	PeakDeliveredPerSec     float64     `json:"messages_delivered_per_sec_peak"`
	Latency                 Percentiles `json:"latency_ms"`
	LatencyMeanMs           float64     `json:"latency_mean_ms"`
	LatencySamples          int64       `json:"latency_samples"`

	Errors       map[string]int64  `json:"errors"`
	ErrorsTotal  int64             `json:"errors_total"`
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	Lost         int64             `json:"lost"`
	Duplicated   int64             `json:"duplicated"`
	Reordered    int64             `json:"reordered"`
	Leaked       int64             `json:"leaked"`
	Malformed    int64             `json:"malformed"`

	ServerCPUSeconds       float64 `json:"server_cpu_seconds"`       // during the measured phase
	ServerCPUSecondsTotal  float64 `json:"server_cpu_seconds_total"` // whole life, from the kernel at exit
	ServerRSSPeakBytes     int64   `json:"server_rss_peak_bytes"`
	ServerRSSEndBytes      int64   `json:"server_rss_end_bytes"`
	ServerRSSBaselineBytes int64   `json:"server_rss_baseline_bytes"`
	ServerThreads          int     `json:"server_threads"`
	GeneratorCPUSeconds    float64 `json:"generator_cpu_seconds"` // this process, same machine
	// GeneratorSystemCPUSeconds is the kernel's part of it (stime).
	GeneratorSystemCPUSeconds float64 `json:"generator_cpu_system_seconds"`
	// The generator's own runtime over the same span (genstats.go): its
	// GC's CPU, how long its goroutines waited runnable (p99, max), its
	// read and write system calls, and its CPU and system calls per
	// session created.
	GeneratorProcs               int     `json:"generator_gomaxprocs"`
	GeneratorGCCPUSeconds        float64 `json:"generator_gc_cpu_seconds"`
	GeneratorGCSharePct          float64 `json:"generator_gc_share_pct"`
	GeneratorRunnableP99Ms       float64 `json:"generator_runnable_p99_ms"`
	GeneratorRunnableMaxMs       float64 `json:"generator_runnable_max_ms"`
	GeneratorReadSyscalls        int64   `json:"generator_read_syscalls"`
	GeneratorWriteSyscalls       int64   `json:"generator_write_syscalls"`
	GeneratorVoluntarySwitches   int64   `json:"generator_voluntary_switches"`
	GeneratorInvoluntarySwitches int64   `json:"generator_involuntary_switches"`
	GeneratorCPUMicrosPerSession float64 `json:"generator_cpu_us_per_session,omitempty"`
	GeneratorSyscallsPerSession  float64 `json:"generator_syscalls_per_session,omitempty"`
	// Late sorts the seconds whose delivery p99 reached 100 ms by whose
	// goroutines waited for a CPU then (densecause.go).
	Late                  *LateSeconds `json:"late_seconds,omitempty"`
	CPUMicrosPerDelivered float64      `json:"cpu_us_per_delivered_message"`
	// GeneratorCPUMicrosPerDelivered is the generator's own CPU (this
	// process's utime+stime from getrusage, the same span as
	// ServerCPUSeconds) per delivered message: how much of the shared box
	// the load itself takes.
	GeneratorCPUMicrosPerDelivered float64 `json:"generator_cpu_us_per_delivered_message"`
	// The same two figures over the measured window only (throughput: the
	// full-speed sending and its drain, without set-up and tear-down).
	WindowServerCPUMicros    float64 `json:"window_server_cpu_us_per_delivered_message,omitempty"`
	WindowGeneratorCPUMicros float64 `json:"window_generator_cpu_us_per_delivered_message,omitempty"`
	// WindowMachineCPUMicros is the whole machine's busy CPU per delivered
	// message over the window (every process: the server, the generator,
	// a local database, anything else running), and WindowOtherCPUMicros
	// what of it neither the server nor the generator spent — on a quiet
	// machine with PostgreSQL on it, mostly PostgreSQL's.
	WindowMachineCPUMicros float64 `json:"window_machine_cpu_us_per_delivered_message,omitempty"`
	WindowOtherCPUMicros   float64 `json:"window_other_cpu_us_per_delivered_message,omitempty"`
	// The server's context switches per delivered message over the window
	// (all its threads): its sleeps (voluntary) and the times the kernel
	// took a thread off its CPU (involuntary).
	WindowServerSleeps      float64 `json:"window_server_voluntary_switches_per_delivered_message,omitempty"`
	WindowServerPreemptions float64 `json:"window_server_involuntary_switches_per_delivered_message,omitempty"`
	MemoryPerSessionBytes   float64 `json:"memory_per_session_bytes"`
	LoadAvgStart            string  `json:"loadavg_start"`
	LoadAvgEnd              string  `json:"loadavg_end"`

	// Extra holds scenario-specific figures (async: active sessions; churn:
	// records verified).
	Extra map[string]any `json:"extra,omitempty"`

	// WindowSec is the span the message rates are taken over when the
	// scenario measured a window (throughput: sending plus drain); 0 means
	// the whole run.
	WindowSec float64 `json:"window_sec,omitempty"`
	window    *window

	// Goal is the goal for the scenario; GoalMisses say how this
	// run falls short of it. RefRatio compares the headline figure with the
	// reference's sizing (RefRatioOf says which).
	Goal       string   `json:"goal"`
	GoalMet    bool     `json:"goal_met"`
	GoalMisses []string `json:"goal_misses,omitempty"`
	RefRatio   float64  `json:"reference_ratio"`
	RefRatioOf string   `json:"reference_ratio_of"`
	// Goals are the goals one by one, each met or missed (dense,
	// throughput).
	Goals []GoalCheck `json:"goals,omitempty"`
	// Rated is the throughput scenario's fixed-rate phase (--rate), where
	// CPU per message is measured at an offered rate the server keeps up
	// with.
	Rated *RatedPhase `json:"rated_phase,omitempty"`

	Series []Sample `json:"series"`
	// StoreTimeline is the server's commit path second by second
	// (timeline.go); StoreTimelineNote says why it is empty, if it is.
	StoreTimeline     []StorePoint `json:"store_timeline,omitempty"`
	StoreTimelineNote string       `json:"store_timeline_note,omitempty"`
	Failures          []string     `json:"failures,omitempty"`
	// Warnings are problems outside the measured phase (for example a
	// server that did not shut down cleanly after the run); they do not
	// fail the run.
	Warnings []string `json:"warnings,omitempty"`
	Pass     bool     `json:"pass"`
}

func newResult(o *Options) *Result {
	r := &Result{Scenario: o.Scenario, Command: o.Command, Date: time.Now().UTC().Truncate(time.Second),
		Machine: thisMachine(), Customers: o.Customers, Sessions: o.Sessions, AutoSave: o.AutoSave,
		DurationOption: o.Duration.Seconds(), Extra: map[string]any{}, GeneratorProcs: runtime.GOMAXPROCS(0)}
	if o.Scenario == "dense" {
		r.SessionLength = o.SessionLength.Seconds()
	}
	if o.Customers == ModePoll {
		r.PollIntervalSec = o.PollInterval.Seconds()
	}
	return r
}

func (r *Result) addFailure(format string, args ...any) {
	r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
}

func (r *Result) addWarning(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

// fill copies the counters into the result and derives the rates.
func (r *Result) fill(m *Metrics, tr *Tracker, series []Sample) {
	r.SessionsCreated = m.SessionsCreated.Load()
	r.SessionsClosed = m.SessionsClosed.Load()
	r.ConcurrentSessionsMax = m.ConcurrentMax()
	r.MessagesSent = tr.Sent.Load()
	r.MessagesDelivered = tr.Delivered.Load()
	r.Lost, r.Duplicated, r.Reordered = tr.Lost.Load(), tr.Duplicated.Load(), tr.Reordered.Load()
	r.Leaked, r.Malformed = tr.Leaked.Load(), tr.Malformed.Load()
	r.Latency = m.Latency.Summary()
	r.LatencyMeanMs = float64(int64(m.Latency.Mean()/1e3)) / 1e3
	r.LatencySamples = m.Latency.Count()
	r.Errors = m.Errors()
	r.ErrorSamples = m.ErrorSamples()
	r.ErrorsTotal = m.ErrorTotal()
	if r.DurationSec > 0 {
		r.SessionsCreatedPerSec = round1(float64(r.SessionsCreated) / r.DurationSec)
		r.SessionsClosedPerSec = round1(float64(r.SessionsClosed) / r.DurationSec)
		r.MessagesSentPerSec = round1(float64(r.MessagesSent) / r.DurationSec)
		r.MessagesDeliveredPerSec = round1(float64(r.MessagesDelivered) / r.DurationSec)
	}
	if w := r.window; w != nil && w.sec > 0 {
		r.WindowSec = round1(w.sec)
		r.MessagesSentPerSec = round1(float64(w.sent) / w.sec)
		r.MessagesDeliveredPerSec = round1(float64(w.delivered) / w.sec)
	}
	for _, s := range series {
		r.PeakDeliveredPerSec = max(r.PeakDeliveredPerSec, round1(s.Delivered))
		r.PeakClosedPerSec = max(r.PeakClosedPerSec, round1(s.Closed))
	}
	if r.MessagesDelivered > 0 && r.ServerCPUSeconds > 0 {
		r.CPUMicrosPerDelivered = round1(r.ServerCPUSeconds * 1e6 / float64(r.MessagesDelivered))
	}
	if r.MessagesDelivered > 0 {
		r.GeneratorCPUMicrosPerDelivered = round1(r.GeneratorCPUSeconds * 1e6 / float64(r.MessagesDelivered))
	}
	if w := r.window; w != nil && w.delivered > 0 {
		r.WindowGeneratorCPUMicros = round1(w.genCPU * 1e6 / float64(w.delivered))
		if w.srvCPU >= 0 {
			r.WindowServerCPUMicros = round1(w.srvCPU * 1e6 / float64(w.delivered))
		}
		if w.srvSwOK {
			r.WindowServerSleeps = perMessage(w.srvSw.Voluntary, w.delivered)
			r.WindowServerPreemptions = perMessage(w.srvSw.Involuntary, w.delivered)
		}
		if w.machCPU >= 0 && w.srvCPU >= 0 {
			r.WindowMachineCPUMicros = round1(w.machCPU * 1e6 / float64(w.delivered))
			r.WindowOtherCPUMicros = round1(max(0, w.machCPU-w.srvCPU-w.genCPU) * 1e6 / float64(w.delivered))
		}
	}
	// Memory per session means something only where sessions are held
	// (dense, async); churn and throughput hold few.
	if (r.Scenario == "dense" || r.Scenario == "async") && r.ConcurrentSessionsMax > 0 && r.ServerRSSPeakBytes > 0 {
		r.MemoryPerSessionBytes = float64(int64((r.ServerRSSPeakBytes - r.ServerRSSBaselineBytes) / r.ConcurrentSessionsMax))
	}
	r.generatorPerSession()
	r.Series = series
}

// judge decides Pass: no correctness failure of any kind.
func (r *Result) judge() {
	for _, c := range []struct {
		n    int64
		what string
	}{
		{r.Lost, "lost"}, {r.Duplicated, "duplicated"}, {r.Reordered, "reordered"},
		{r.Leaked, "leaked (seen by a party not allowed to see them)"}, {r.Malformed, "malformed"},
	} {
		if c.n > 0 {
			r.addFailure("%d messages %s", c.n, c.what)
		}
	}
	if r.SessionsCreated == 0 {
		r.addFailure("no session was created")
	}
	r.Pass = len(r.Failures) == 0
	r.judgeGoal()
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// WriteTable prints the result as a table.
func (r *Result) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	if r.Scenario == "cometd" {
		row("scenario", "cometd (CometD customers: websocket and long-polling)")
	} else {
		row("scenario", "%s (%s customers)", r.Scenario, r.Customers)
	}
	row("machine", "%d CPUs, %s RAM, %s, load %s → %s", r.Machine.NProc, gib(r.Machine.MemBytes), r.Machine.GoVersion, r.LoadAvgStart, r.LoadAvgEnd)
	row("duration", "%.1f s", r.DurationSec)
	row("sessions created / closed", "%d / %d (%.1f/s opened, %.1f/s closed, peak %.0f/s)", r.SessionsCreated, r.SessionsClosed,
		r.SessionsCreatedPerSec, r.SessionsClosedPerSec, r.PeakClosedPerSec)
	row("concurrent sessions max", "%d", r.ConcurrentSessionsMax)
	row("messages sent / delivered", "%d / %d", r.MessagesSent, r.MessagesDelivered)
	row("delivered per second", "%.1f (peak %.0f)", r.MessagesDeliveredPerSec, r.PeakDeliveredPerSec)
	row("latency ms p50 / p95 / p99 / max", "%.2f / %.2f / %.2f / %.2f (%d samples)", r.Latency.P50, r.Latency.P95, r.Latency.P99, r.Latency.Max, r.LatencySamples)
	row("errors", "%d: %s", r.ErrorsTotal, errorSummary(r.Errors))
	row("lost / duplicated / reordered / leaked", "%d / %d / %d / %d", r.Lost, r.Duplicated, r.Reordered, r.Leaked)
	row("server CPU", "%.2f s in the run (%.2f s total); generator %.1f s (%.1f s of it in the kernel)", r.ServerCPUSeconds, r.ServerCPUSecondsTotal, r.GeneratorCPUSeconds, r.GeneratorSystemCPUSeconds)
	row("server RSS peak", "%s (baseline %s, end %s)", mib(r.ServerRSSPeakBytes), mib(r.ServerRSSBaselineBytes), mib(r.ServerRSSEndBytes))
	row("CPU per delivered message", "%s", r.cpuPerMessage())
	row("generator runtime", "%s", r.generatorRuntime())
	if r.AutoSave != "" {
		row("transcript-auto-save", "%s", r.AutoSave)
	}
	if p := r.Rated; p != nil {
		row("fixed-rate phase", "%s", p.describe())
	}
	row("memory per session", "%.0f bytes", r.MemoryPerSessionBytes)
	keys := make([]string, 0, len(r.Extra))
	for k := range r.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		row(k, "%v", r.Extra[k])
	}
	row("vs reference", "%.1f× (%s)", r.RefRatio, r.RefRatioOf)
	row("goal", "%s", goalText(r))
	for _, g := range r.Goals {
		row("goal check", "%s", g)
	}
	if r.Pass {
		row("result", "PASS (correct)")
	} else {
		row("result", "FAIL")
	}
	tw.Flush()
	for _, f := range r.Failures {
		fmt.Fprintf(w, "FAILURE: %s\n", f)
	}
	for _, f := range r.Warnings {
		fmt.Fprintf(w, "WARNING: %s\n", f)
	}
	if len(r.ErrorSamples) > 0 {
		kinds := make([]string, 0, len(r.ErrorSamples))
		for k := range r.ErrorSamples {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			fmt.Fprintf(w, "first %s error: %s\n", k, strings.TrimSpace(r.ErrorSamples[k]))
		}
	}
}

// cpuPerMessage says the server's and the generator's CPU per delivered
// message, over the run and over its measured window.
func (r *Result) cpuPerMessage() string {
	s := fmt.Sprintf("server %.1f µs, generator %.1f µs (utime+stime of each process)", r.CPUMicrosPerDelivered, r.GeneratorCPUMicrosPerDelivered)
	if r.WindowGeneratorCPUMicros > 0 {
		s += fmt.Sprintf("; full-speed window: server %.1f µs, generator %.1f µs", r.WindowServerCPUMicros, r.WindowGeneratorCPUMicros)
		if r.WindowMachineCPUMicros > 0 {
			s += fmt.Sprintf(", whole machine %.1f µs (other processes %.1f µs)", r.WindowMachineCPUMicros, r.WindowOtherCPUMicros)
		}
		if r.WindowServerSleeps > 0 {
			s += fmt.Sprintf("; server context switches per message %.3f voluntary (its threads' sleeps), %.3f involuntary", r.WindowServerSleeps, r.WindowServerPreemptions)
		}
	}
	return s
}

func gib(b int64) string { return fmt.Sprintf("%.1fGiB", float64(b)/(1<<30)) }

// WriteJSON writes the result to path.
func (r *Result) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
