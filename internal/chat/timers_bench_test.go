package chat

import (
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
)

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func benchTimedConfig(b *testing.B, ini string) *config.Config {
	cfg, _, err := config.Parse("bench.ini", []byte(ini))
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// BenchmarkTimerMemory measures what the timers add to 100,000 open
// sessions (a customer and an agent each, inactivity control and async idle
// control on, so every session has a deadline pending): the same sessions
// are built on an engine without timers and on one with them, and the
// difference is divided by the session count. The timer state embedded in
// every Session (present either way) is added to the figure.
func BenchmarkTimerMemory(b *testing.B) {
	const n = 100_000
	cfg := benchTimedConfig(b, "[inactivity-control]\nenabled = true\n")
	build := func(timed bool) (*Engine, uint64) {
		before := liveHeap()
		e := New(Options{Clock: clock.NewFake(time.Unix(0, 0)), Settings: Settings{SessionLimit: n, ClosedGrace: time.Minute}})
		if timed {
			e.SetTimers(TimerOptions{Config: func() *config.Config { return cfg }})
		}
		for range n {
			s, _, _, err := e.Create(CreateRequest{Async: true, Creator: JoinRequest{Type: Client, Protocol: Flex}})
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := s.Join(JoinRequest{Type: Agent, Protocol: Basic}); err != nil {
				b.Fatal(err)
			}
		}
		return e, liveHeap() - before
	}
	var perSession float64
	for b.Loop() {
		plain, without := build(false)
		runtime.KeepAlive(plain)
		plain = nil
		timed, with := build(true)
		if timed.PendingDeadlines() != n {
			b.Fatalf("%d deadlines pending for %d sessions", timed.PendingDeadlines(), n)
		}
		runtime.KeepAlive(timed)
		perSession = (float64(with)-float64(without))/n + float64(unsafe.Sizeof(timerState{}))
		b.ReportMetric(float64(with)/n, "B/session-total")
	}
	b.ReportMetric(perSession, "B/session-timers")
	b.ReportMetric(perSession*n/(1<<20), "MiB-timers/100k")
}

// BenchmarkSendUnderExpiries measures Session.Send on a timed session while
// 1,000 other sessions each fall due once a second on the real clock (their
// customers are held, so every expiry re-arms a second later): 1,000
// expiries per second running beside the message path. Compare with
// BenchmarkSendTimedIdle (the same without the load) and BenchmarkSend.
func BenchmarkSendUnderExpiries(b *testing.B) { benchSendTimed(b, 1000) }

// BenchmarkSendTimedIdle is BenchmarkSendUnderExpiries without the load.
func BenchmarkSendTimedIdle(b *testing.B) { benchSendTimed(b, 0) }

func benchSendTimed(b *testing.B, load int) {
	cfg := benchTimedConfig(b, "[settings]\nflex-disconnect-timeout = 1\n[inactivity-control]\nenabled = true\n")
	e := New(Options{Clock: clock.Real(), Settings: Settings{SessionLimit: 1 << 30, ClosedGrace: time.Minute}})
	e.SetTimers(TimerOptions{Config: func() *config.Config { return cfg }})
	defer e.StopTimers()
	var releases []func()
	for range load {
		s, c, _, err := e.Create(CreateRequest{Creator: JoinRequest{Type: Client, Protocol: Flex}})
		if err != nil {
			b.Fatal(err)
		}
		s.Join(JoinRequest{Type: Agent, Protocol: Basic})
		releases = append(releases, s.Hold(c.UserID))
	}
	var s *Session
	var client, agent Participant
	start := func() { // a new session every 256 messages; its deadline (the idle alert) stays far off
		if s != nil {
			s.Close(CloseRequest{Reason: RemovedByServer})
		}
		var err error
		s, client, _, err = e.Create(CreateRequest{Creator: JoinRequest{Nick: "c", Type: Client, Protocol: Basic}})
		if err != nil {
			b.Fatal(err)
		}
		agent, _, _ = s.Join(JoinRequest{Nick: "a", Type: Agent})
	}
	msg := Msg{Text: "hello there", Type: "text"}
	time.Sleep(1100 * time.Millisecond) // let the load reach its steady rate (a benchmark, not a test)
	fired := e.TimerExpiries()
	t0 := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%256 == 0 {
			b.StopTimer()
			start()
			b.StartTimer()
		}
		from := client.UserID
		if i%2 == 1 {
			from = agent.UserID
		}
		if _, err := s.Send(from, msg); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if el := time.Since(t0).Seconds(); el > 0 {
		b.ReportMetric(float64(e.TimerExpiries()-fired)/el, "expiries/s")
	}
	for _, r := range releases {
		r()
	}
}
