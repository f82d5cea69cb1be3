package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/client/esp"
)

// Scenarios lists the scenario names Run accepts.
var scenarioNames = []string{"dense", "async", "churn", "throughput", "cometd", "abuse"}

// Scenarios returns the scenario names, in the order the docs list them.
func Scenarios() []string { return append([]string(nil), scenarioNames...) }

// Options configure a run. Zero values take the scenario's defaults (see
// Defaults).
type Options struct {
	Scenario string
	// Sessions: dense — target concurrent sessions; async — concurrent
	// sessions held (1 in ActiveEvery active); churn — concurrent workers
	// opening and closing sessions; throughput — sessions exchanging
	// messages.
	Sessions int
	// Duration: how long the scenario runs its load (dense: how long new
	// sessions keep starting; async: how long the sessions are held once
	// all exist; churn, throughput: how long it opens/sends).
	Duration time.Duration
	// SessionLength is a dense session's length (about 35 s in the
	// reference's benchmark).
	SessionLength time.Duration
	// ActiveEvery makes 1 in ActiveEvery async sessions active (50).
	ActiveEvery int
	// MessageInterval is how often each side of an active async session
	// sends.
	MessageInterval time.Duration
	// Customers is ws, longpoll or poll.
	Customers    string
	PollInterval time.Duration
	// SessionsPerAgent bounds the sessions one agent socket is in (the
	// server allows 100).
	SessionsPerAgent int
	// Offers (dense): the agents serve the queue with capacity
	// SessionsPerAgent, set themselves ready and accept what the server
	// offers them, instead of accepting the chat of their session.
	Offers bool
	// AutoSave is the child server's transcript-auto-save: "1" (the
	// default: every acknowledged message durable), "0", or, for
	// throughput, "both": rounds alternating 1 and 0 (RunCompare).
	AutoSave string
	// Rate (throughput), when > 0, adds a phase before the full-speed one
	// in which all senders together offer Rate messages per second for
	// RateDuration, to measure CPU per message at a rate the server keeps
	// up with (see rated.go).
	Rate         float64
	RateDuration time.Duration
	// Rounds is the number of auto-save 1/0 pairs with AutoSave "both".
	Rounds int

	// Target, when set, is an already running server; AdminToken, ESPToken
	// and AgentTokens must then be given. Otherwise Exe is started as a
	// child `confab serve`.
	Target      *Endpoints
	AdminToken  string
	ESPToken    string
	AgentTokens []string
	Exe         string
	// ServerEnv is added to the child server's environment.
	ServerEnv []string
	// ServerConfig is appended to the child server's configuration file.
	ServerConfig string
	// StoreDSN, when set, runs the child server on PostgreSQL: a fresh
	// schema in this database per server, dropped after the run
	// (pgstore.go). The agents are created there too.
	StoreDSN string

	// StdHTTP makes the generator's HTTP go through net/http's Transport
	// instead of its lean loopback transport (to compare the generator's
	// own cost; the server sees the same requests either way).
	StdHTTP bool

	// Progress receives a progress line every ProgressEvery (default 5 s);
	// nil for none.
	Progress      io.Writer
	ProgressEvery time.Duration
	// Command is recorded in the result (the command line that ran).
	Command string
}

// Defaults fills the zero fields of o with its scenario's defaults, sized to
// finish within two minutes on a small machine.
func (o *Options) Defaults() error {
	type def struct {
		sessions int
		duration time.Duration
	}
	defs := map[string]def{
		"dense":      {1000, 45 * time.Second},
		"async":      {5000, 20 * time.Second},
		"churn":      {32, 30 * time.Second},
		"throughput": {50, 30 * time.Second},
		"cometd":     {2000, 30 * time.Second},
		"abuse":      {40, 120 * time.Second},
	}
	d, ok := defs[o.Scenario]
	if !ok {
		return fmt.Errorf("unknown scenario %q (want one of %s)", o.Scenario, strings.Join(scenarioNames, ", "))
	}
	if o.Sessions <= 0 {
		o.Sessions = d.sessions
	}
	if o.Duration <= 0 {
		o.Duration = d.duration
	}
	if o.SessionLength <= 0 {
		o.SessionLength = 35 * time.Second
	}
	if o.ActiveEvery <= 0 {
		o.ActiveEvery = 50
	}
	if o.MessageInterval <= 0 {
		o.MessageInterval = 5 * time.Second
	}
	if o.Customers == "" {
		o.Customers = ModeWS
	}
	switch o.AutoSave {
	case "":
		if o.Target == nil {
			o.AutoSave = "1" // the generated configuration's; a --target's is its own
		}
	case "0", "1", "2":
		if o.Target != nil {
			return fmt.Errorf("--auto-save sets the child server's configuration; a --target has its own")
		}
	case "both":
		if o.Scenario != "throughput" || o.Target != nil {
			return fmt.Errorf("--auto-save both is for the throughput scenario with child servers (no --target)")
		}
	default:
		return fmt.Errorf("--auto-save %q: want 0, 1, 2 or both", o.AutoSave)
	}
	if o.Rate < 0 {
		return fmt.Errorf("--rate %v: want ≥ 0", o.Rate)
	}
	if o.Rate > 0 && o.RateDuration <= 0 {
		o.RateDuration = 10 * time.Second
	}
	if o.Rounds <= 0 {
		o.Rounds = 1
	}
	switch o.Customers {
	case ModeWS, ModeLongPoll, ModePoll:
	default:
		return fmt.Errorf("--customers %q: want ws, longpoll or poll", o.Customers)
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.SessionsPerAgent <= 0 {
		o.SessionsPerAgent = 50
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 5 * time.Second
	}
	if o.Target == nil && o.Exe == "" {
		return errors.New("no server: give a confab binary to start or a --target")
	}
	if o.Target != nil && (o.ESPToken == "" || o.AdminToken == "") {
		return errors.New("--target needs --esp-token and --admin-token")
	}
	return nil
}

// env is what a scenario runs with: the clients, the agents, the metrics and
// the tracker. Its fields are set before the scenario starts and not changed
// afterwards, except the lazily started poll scheduler.
type env struct {
	o          *Options
	urls       Endpoints
	runID      string
	service    string // the Chat API service name the customers use
	hc         *http.Client
	chat       *chatv2.Client
	esp        *esp.Client
	agents     *agentPool // nil when the scenario needs none
	proc       *Process   // nil with --target
	adminToken string
	churnIDs   map[string]bool // sessions the churn scenario closed
	m          *Metrics
	tr         *Tracker
	log        io.Writer

	schedOnce sync.Once
	sched     *pollScheduler
}

// poller returns the run's short-poll scheduler, starting it on first use.
func (e *env) poller(ctx context.Context) *pollScheduler {
	e.schedOnce.Do(func() {
		workers := 4 * runtime.GOMAXPROCS(0)
		if workers < 16 {
			workers = 16
		}
		e.sched = newPollScheduler(ctx, e.o.PollInterval, workers*4)
	})
	return e.sched
}

// newHTTPClient returns the client every customer, agent handshake and the
// workflow share, to 127.0.0.1 only: the lean keep-alive transport
// (transport.go), or with std net/http's own Transport with a pool large
// enough for the run's concurrency.
func newHTTPClient(std bool) *http.Client {
	if !std {
		return &http.Client{Transport: newLoopTransport(8192)}
	}
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        8192,
		MaxIdleConnsPerHost: 8192,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}}
}

// checkLocal refuses targets that are not on this machine: the generator
// only ever sends traffic to 127.0.0.1.
func checkLocal(urls Endpoints) error {
	for _, u := range []string{urls.WebAPI, urls.Agent, urls.ESP, urls.Health} {
		host := strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
		if i := strings.IndexAny(host, "/"); i >= 0 {
			host = host[:i]
		}
		h, _, err := net.SplitHostPort(host)
		if err != nil {
			h = host
		}
		if ip := net.ParseIP(h); (ip == nil || !ip.IsLoopback()) && h != "localhost" {
			return fmt.Errorf("target %s is not a loopback address; the generator only drives a server on this machine", u)
		}
	}
	return nil
}

// esp sends a workflow message into session sid on stream st.
func (e *env) espMessage(ctx context.Context, sid string, st *Stream) error {
	seq, text := st.Next()
	vis := st.vis.String()
	_, err := e.esp.Call(ctx, esp.MethodMessage, esp.Params{
		"InteractionId": sid, "MessageText": text, "Nickname": "Workflow", "Visibility": vis,
	})
	if err != nil {
		e.m.Error("esp.message", err)
		return fmt.Errorf("esp message to %s: %w", sid, err)
	}
	st.Ack(seq)
	return nil
}

// filler pads message texts to a realistic chat line.
const filler = "Hello, I have a question about my last order and the delivery date."

// logf writes a line to the run's log (stderr of the CLI).
func (e *env) logf(format string, args ...any) {
	if e.log != nil {
		fmt.Fprintf(e.log, format+"\n", args...)
	}
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

// window is a span of a run over which message rates are measured, with
// the CPU both processes spent in it.
type window struct {
	t0              time.Time
	sent0, dlv0     int64
	gen0, srv0      float64 // generator (this process) and server CPU seconds at t0
	sec             float64
	sent, delivered int64
	genCPU, srvCPU  float64 // CPU seconds spent in the window; srvCPU < 0: not measured
	// The machine's busy CPU seconds in the window, every process
	// together (the database's too, when it runs here); < 0: not measured.
	mach0, machCPU float64
	// The server's context switches at t0 and in the window; srvSwOK:
	// both readings were taken.
	srvSw0, srvSw Switches
	srvSwOK       bool
}

// startWindow starts measuring message rates.
func (e *env) startWindow() *window {
	w := &window{t0: time.Now(), sent0: e.tr.Sent.Load(), dlv0: e.tr.Delivered.Load(), gen0: selfCPU(), srv0: -1, mach0: machineBusySeconds()}
	if e.proc != nil {
		if st, err := e.proc.Stat(); err == nil {
			w.srv0 = st.CPUSeconds
		}
		w.srvSw0, w.srvSwOK = readSwitches(e.proc.Pid)
	}
	return w
}

// endWindow ends it and records it in res.
func (e *env) endWindow(w *window, res *Result) {
	w.sec = time.Since(w.t0).Seconds()
	w.sent = e.tr.Sent.Load() - w.sent0
	w.delivered = e.tr.Delivered.Load() - w.dlv0
	w.genCPU = selfCPU() - w.gen0
	w.srvCPU, w.machCPU = -1, -1
	if m := machineBusySeconds(); m >= 0 && w.mach0 >= 0 {
		w.machCPU = m - w.mach0
	}
	if e.proc != nil && w.srv0 >= 0 {
		if st, err := e.proc.Stat(); err == nil {
			w.srvCPU = st.CPUSeconds - w.srv0
		}
		if sw, ok := readSwitches(e.proc.Pid); ok && w.srvSwOK {
			w.srvSw = Switches{sw.Voluntary - w.srvSw0.Voluntary, sw.Involuntary - w.srvSw0.Involuntary}
		} else {
			w.srvSwOK = false
		}
	}
	res.window = w
}
