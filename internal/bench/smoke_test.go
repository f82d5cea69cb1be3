package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// The smoke tests run every scenario at a tiny size against the real
// binary, built once per test binary, and assert correctness only: counts,
// order, no loss, duplicate or leak. Never speed.

var (
	buildOnce sync.Once
	builtExe  string
	buildErr  error
	buildDir  string
)

func confabBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "confab-bench-test-")
		if buildErr != nil {
			return
		}
		exe := filepath.Join(buildDir, "confab")
		cmd := exec.Command("go", "build", "-o", exe, "github.com/confab/confab/cmd/confab")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = err
			buildErr = &buildError{err: err, out: out.String()}
			return
		}
		builtExe = exe
	})
	if buildErr != nil {
		t.Fatalf("build confab: %v", buildErr)
	}
	return builtExe
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// TestMain removes the built binary and fails the run when goroutines the
// tests started are still running a few seconds after they ended.
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); code == 0 && n > before+2 {
		buf := make([]byte, 1<<20)
		fmt.Fprintf(os.Stderr, "leaked goroutines: %d at start, %d at the end:\n%s\n", before, n, buf[:runtime.Stack(buf, true)])
		code = 1
	}
	os.Exit(code)
}

func smoke(t *testing.T, o Options) *Result {
	t.Helper()
	o.Exe = confabBinary(t)
	var log bytes.Buffer
	o.Progress = &log
	o.ProgressEvery = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("run %s: %v\nlog:\n%s", o.Scenario, err, log.String())
	}
	var table bytes.Buffer
	res.WriteTable(&table)
	t.Logf("%s\n%s", log.String(), table.String())
	if !res.Pass {
		t.Fatalf("%s failed: %v", o.Scenario, res.Failures)
	}
	if res.ErrorsTotal != 0 {
		t.Errorf("%s: %d errors: %v", o.Scenario, res.ErrorsTotal, res.ErrorSamples)
	}
	dir := t.TempDir()
	if err := res.WriteJSON(filepath.Join(dir, "r.json")); err != nil {
		t.Error(err)
	}
	if err := res.WriteHTML(filepath.Join(dir, "r.html")); err != nil {
		t.Error(err)
	}
	return res
}

func TestSmokeChurn(t *testing.T) {
	res := smoke(t, Options{Scenario: "churn", Sessions: 4, Duration: 2 * time.Second})
	if res.SessionsCreated == 0 || res.SessionsClosed != res.SessionsCreated {
		t.Errorf("created %d, closed %d; want all created closed", res.SessionsCreated, res.SessionsClosed)
	}
	if res.MessagesSent != res.SessionsCreated {
		t.Errorf("sent %d messages for %d sessions; want one each", res.MessagesSent, res.SessionsCreated)
	}
}

func TestSmokeDense(t *testing.T) {
	res := smoke(t, Options{Scenario: "dense", Sessions: 12, Duration: 3 * time.Second, SessionLength: 2 * time.Second})
	if res.SessionsCreated == 0 || res.SessionsClosed != res.SessionsCreated {
		t.Errorf("created %d, closed %d; want all created closed", res.SessionsCreated, res.SessionsClosed)
	}
	// Per session: greeting (customer, agent), routing note (agent), 3
	// agent messages (customer), 3 customer messages (agent); the coaching
	// note reaches nobody.
	if want := 9 * res.SessionsCreated; res.MessagesDelivered != want {
		t.Errorf("delivered %d, want %d (9 per session)", res.MessagesDelivered, want)
	}
	if want := 9 * res.SessionsCreated; res.MessagesSent != want {
		t.Errorf("sent %d, want %d (2 workflow, 4 agent, 3 customer per session)", res.MessagesSent, want)
	}
	// The goals are reported one by one; the correctness ones must hold
	// (the latency one is not judged here).
	if len(res.Goals) != 3 || !res.Goals[1].Met || !res.Goals[2].Met {
		t.Errorf("goal checks %+v; want p99, lost and duplicated, the last two met", res.Goals)
	}
	// The generator's own runtime is in every second and in the totals.
	for _, s := range res.Series {
		if s.Gen.Goroutines == 0 {
			t.Errorf("second %.0f: no generator goroutines: %+v", s.T, s.Gen)
		}
	}
	if readProcIO("/proc/self/io").OK && (res.GeneratorReadSyscalls <= 0 || res.GeneratorWriteSyscalls <= 0 || res.GeneratorSyscallsPerSession <= 0) {
		t.Errorf("generator syscalls: %d reads, %d writes, %.1f per session", res.GeneratorReadSyscalls, res.GeneratorWriteSyscalls, res.GeneratorSyscallsPerSession)
	}
}

func TestSmokeAsync(t *testing.T) {
	res := smoke(t, Options{Scenario: "async", Sessions: 60, ActiveEvery: 10, Duration: 2 * time.Second,
		MessageInterval: 400 * time.Millisecond})
	if res.SessionsCreated != 60 || res.ConcurrentSessionsMax < 54 {
		t.Errorf("created %d, max concurrent %d; want 60 held", res.SessionsCreated, res.ConcurrentSessionsMax)
	}
	if res.Extra["sessions_active"] != int64(6) {
		t.Errorf("active sessions %v, want 6", res.Extra["sessions_active"])
	}
	if res.SessionsClosed != 6 {
		t.Errorf("closed %d, want the 6 active ones", res.SessionsClosed)
	}
	// Every dormant customer read its greeting; the active ones chatted.
	if res.MessagesDelivered <= 60 {
		t.Errorf("delivered %d, want more than the 60 greetings", res.MessagesDelivered)
	}
}

func TestSmokeThroughput(t *testing.T) {
	for _, mode := range []string{ModeWS, ModeLongPoll, ModePoll} {
		t.Run(mode, func(t *testing.T) {
			res := smoke(t, Options{Scenario: "throughput", Sessions: 4, Duration: time.Second,
				Customers: mode, PollInterval: 100 * time.Millisecond})
			if res.SessionsClosed != 4 || res.MessagesSent < 20 || res.MessagesDelivered != res.MessagesSent {
				t.Errorf("closed %d, sent %d, delivered %d; want 4 closed and every message delivered",
					res.SessionsClosed, res.MessagesSent, res.MessagesDelivered)
			}
		})
	}
}

func TestSmokeCometD(t *testing.T) {
	res := smoke(t, Options{Scenario: "cometd", Sessions: 8, Duration: time.Second, ActiveEvery: 2, MessageInterval: 200 * time.Millisecond})
	if res.Extra["clients_websocket"] != int64(4) || res.Extra["clients_long_polling"] != int64(4) {
		t.Errorf("clients %v websocket, %v long-polling; want 4 and 4", res.Extra["clients_websocket"], res.Extra["clients_long_polling"])
	}
	if res.MessagesSent < 8 || res.MessagesDelivered != res.MessagesSent || res.SessionsClosed != 8 {
		t.Errorf("sent %d, delivered %d, closed %d; want every message delivered and 8 closed", res.MessagesSent, res.MessagesDelivered, res.SessionsClosed)
	}
}

func TestSmokeDenseOffers(t *testing.T) {
	res := smoke(t, Options{Scenario: "dense", Offers: true, Sessions: 12, Duration: 3 * time.Second,
		SessionLength: 2 * time.Second, SessionsPerAgent: 4})
	if res.SessionsCreated == 0 || res.SessionsClosed != res.SessionsCreated {
		t.Errorf("created %d, closed %d; want all created closed", res.SessionsCreated, res.SessionsClosed)
	}
	if res.Extra["offers"] != res.SessionsCreated {
		t.Errorf("%v offers for %d sessions; want one each", res.Extra["offers"], res.SessionsCreated)
	}
	if want := 9 * res.SessionsCreated; res.MessagesDelivered != want {
		t.Errorf("delivered %d, want %d (9 per session)", res.MessagesDelivered, want)
	}
	if p50, _ := res.Extra["queued_to_offered_ms_p50"].(float64); p50 <= 0 {
		t.Errorf("queued→offered p50 %v", res.Extra["queued_to_offered_ms_p50"])
	}
}

// TestSmokeAbuse runs the abuse scenario small: the floods are refused with
// their documented answers, the well-behaved customers see no error, and
// the shutdown with stalled connections is clean. (Latency is not judged
// at this size.)
func TestSmokeAbuse(t *testing.T) {
	res := smoke(t, Options{Scenario: "abuse", Sessions: 3, Duration: 4 * time.Second})
	x := res.Extra
	// (The message flood's refusals depend on how fast the tiny run sends:
	// only that it ran is checked here.)
	if n, _ := x["flood_msg_ok"].(int64); n == 0 {
		t.Errorf("the message flood sent nothing")
	}
	for _, k := range []string{"flood_create_429", "flood_slow_conns_opened", "flood_push_replaced"} {
		if n, _ := x[k].(int64); n == 0 {
			t.Errorf("%s = %v, want some", k, x[k])
		}
	}
	if x["baseline_errors"] != int64(0) || x["flood_errors"] != int64(0) {
		t.Errorf("well-behaved errors: baseline %v, flood %v", x["baseline_errors"], x["flood_errors"])
	}
	if x["shutdown_clean"] != true {
		t.Errorf("shutdown with stalled connections not clean: %v", res.Failures)
	}
}

// TestSmokeThroughputCompare runs --auto-save both at a tiny size: two
// rounds, one per setting, each with its fixed-rate phase, every message
// delivered, and the five goals reported (met or not: speed is not judged).
func TestSmokeThroughputCompare(t *testing.T) {
	o := Options{Scenario: "throughput", Sessions: 2, Duration: time.Second, AutoSave: "both",
		// 100 messages in the fixed-rate phase: the server's CPU is read in
		// clock ticks (10 ms), and 40 of them cost the memory round less
		// than one tick now and then (CPU 0, a failure of this test).
		Rate: 100, RateDuration: time.Second, Exe: confabBinary(t)}
	var log bytes.Buffer
	o.Progress = &log
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	c, err := RunCompare(ctx, o)
	if err != nil {
		t.Fatalf("compare: %v\n%s", err, log.String())
	}
	var table bytes.Buffer
	c.WriteTable(&table)
	t.Logf("%s\n%s", log.String(), table.String())
	if !c.Pass {
		t.Fatalf("failed: %v", c.Failures)
	}
	if len(c.Rounds) != 2 || c.Rounds[0].AutoSave != "1" || c.Rounds[1].AutoSave != "0" {
		t.Fatalf("rounds %d; want auto-save 1 then 0", len(c.Rounds))
	}
	for _, r := range c.Rounds {
		if r.MessagesSent < 20 || r.MessagesDelivered != r.MessagesSent {
			t.Errorf("auto-save %s: sent %d, delivered %d; want every message delivered", r.AutoSave, r.MessagesSent, r.MessagesDelivered)
		}
		p := r.Rated
		if p == nil || p.Sent == 0 || p.Delivered != p.Sent || p.ServerCPUSeconds <= 0 {
			t.Errorf("auto-save %s: fixed-rate phase %+v; want messages sent, all delivered, CPU measured", r.AutoSave, p)
		}
		if len(r.Goals) != 1 {
			t.Errorf("auto-save %s: goals %+v; want the delivered-per-second one", r.AutoSave, r.Goals)
		}
	}
	if len(c.Goals) != 5 || !c.Goals[3].Met {
		t.Errorf("goals %+v; want five, the correctness one met", c.Goals)
	}
	if c.MemoryDeliveredPerSec <= 0 || c.DeliveredRatio <= 0 {
		t.Errorf("delivered: durable %.0f, memory %.0f, ratio %.3f", c.DurableDeliveredPerSec, c.MemoryDeliveredPerSec, c.DeliveredRatio)
	}
	dir := t.TempDir()
	if err := c.WriteJSON(filepath.Join(dir, "c.json")); err != nil {
		t.Error(err)
	}
	if err := c.WriteHTML(filepath.Join(dir, "c.html")); err != nil {
		t.Error(err)
	}
}
