package bench

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// RatedPhase is the throughput scenario's fixed-rate phase: the same
// sessions, every sender paced so that together they offer OfferedPerSec
// messages per second, each still sent only once the previous one was
// acknowledged. At a rate the server keeps up with, the server's CPU per
// delivered message compares the cost of one message between
// configurations (issue 17: auto-save 1 against 0 at 2,000 messages per
// second) without the comparison depending on how far each saturates.
type RatedPhase struct {
	OfferedPerSec   float64 `json:"offered_per_sec"`
	DurationSec     float64 `json:"duration_sec"` // pacing plus the drain
	Sent            int64   `json:"messages_sent"`
	Delivered       int64   `json:"messages_delivered"`
	DeliveredPerSec float64 `json:"messages_delivered_per_sec"`
	// KeptUp says the senders achieved the offered rate: at least 95% of
	// Rate × the pacing time was sent (each send waits for its
	// acknowledgement, so a server that falls behind holds the senders
	// back). MaxLagMs is the furthest any sender fell behind its schedule.
	KeptUp   bool    `json:"kept_up"`
	MaxLagMs float64 `json:"max_lag_ms"`
	// ServerCPUSeconds is the child's utime+stime over the phase; 0 with
	// --target (no process to measure).
	ServerCPUSeconds      float64 `json:"server_cpu_seconds"`
	CPUMicrosPerDelivered float64 `json:"cpu_us_per_delivered_message"`
	GeneratorCPUSeconds   float64 `json:"generator_cpu_seconds"`
	// GeneratorCPUMicrosPerDelivered is the generator's own CPU per
	// delivered message over the phase.
	GeneratorCPUMicrosPerDelivered float64 `json:"generator_cpu_us_per_delivered_message"`
	LoadAvgStart                   string  `json:"loadavg_start"`
	LoadAvgEnd                     string  `json:"loadavg_end"`
}

func (p *RatedPhase) describe() string {
	kept := "kept up"
	if !p.KeptUp {
		kept = "did NOT keep up"
	}
	return fmt.Sprintf("%.0f msg/s offered for %.1f s (%s; senders at most %.0f ms behind): %d delivered (%.0f/s), server CPU %.2f s = %.1f µs per delivered message, generator %.1f µs, load %s → %s",
		p.OfferedPerSec, p.DurationSec, kept, p.MaxLagMs, p.Delivered, p.DeliveredPerSec, p.ServerCPUSeconds, p.CPUMicrosPerDelivered, p.GeneratorCPUMicrosPerDelivered, p.LoadAvgStart, p.LoadAvgEnd)
}

// pacedSender is one sender of the fixed-rate phase.
type pacedSender func(ctx context.Context) error

// runRated paces senders for e.o.RateDuration at e.o.Rate messages per
// second in all, waits until parties hold everything, and records the phase.
func runRated(ctx context.Context, e *env, res *Result, senders []pacedSender, parties []*Party) {
	o := e.o
	n := len(senders)
	if n == 0 || o.Rate <= 0 {
		return
	}
	interval := time.Duration(float64(time.Second) * float64(n) / o.Rate)
	p := &RatedPhase{OfferedPerSec: o.Rate, LoadAvgStart: loadAvg()}
	e.logf("throughput: fixed-rate phase, %.0f messages/s from %d senders (one every %v each) for %v",
		o.Rate, n, interval, o.RateDuration)
	var cpu0 float64
	if e.proc != nil {
		if st, err := e.proc.Stat(); err == nil {
			cpu0 = st.CPUSeconds
		}
	}
	gen0 := selfCPU()
	sent0, dlv0 := e.tr.Sent.Load(), e.tr.Delivered.Load()
	t0 := time.Now()
	end := t0.Add(o.RateDuration)
	var wg sync.WaitGroup
	var mu sync.Mutex // guards maxLag
	var maxLag time.Duration
	for i, send := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the senders over one interval so the offered load is
			// even, not a burst every interval.
			next := t0.Add(interval * time.Duration(i) / time.Duration(n))
			tm := time.NewTimer(time.Hour) // one timer per sender, reset for each wait
			defer tm.Stop()
			for {
				if !next.Before(end) {
					return
				}
				if d := time.Until(next); d > 0 {
					tm.Reset(d)
					select {
					case <-tm.C:
					case <-ctx.Done():
						return
					}
				}
				if send(ctx) != nil {
					return
				}
				next = next.Add(interval)
				if late := time.Since(next); late > 0 {
					mu.Lock()
					maxLag = max(maxLag, late)
					mu.Unlock()
					if late > interval {
						next = time.Now() // do not burst to catch up
					}
				}
			}
		}()
	}
	wg.Wait()
	paced := time.Since(t0)
	sentPaced := e.tr.Sent.Load() - sent0
	p.KeptUp = float64(sentPaced) >= 0.95*o.Rate*min(paced, o.RateDuration).Seconds()
	p.MaxLagMs = round1(float64(maxLag) / float64(time.Millisecond))
	waitAll(ctx, e, parties, 15*time.Second)
	p.DurationSec = round1(time.Since(t0).Seconds())
	p.Sent = e.tr.Sent.Load() - sent0
	p.Delivered = e.tr.Delivered.Load() - dlv0
	if p.DurationSec > 0 {
		p.DeliveredPerSec = round1(float64(p.Delivered) / time.Since(t0).Seconds())
	}
	if e.proc != nil {
		if st, err := e.proc.Stat(); err == nil {
			p.ServerCPUSeconds = float64(int64((st.CPUSeconds-cpu0)*1000+0.5)) / 1000
		}
	}
	if p.Delivered > 0 && p.ServerCPUSeconds > 0 {
		p.CPUMicrosPerDelivered = round1(p.ServerCPUSeconds * 1e6 / float64(p.Delivered))
	}
	genCPU := selfCPU() - gen0
	p.GeneratorCPUSeconds = round1(genCPU)
	if p.Delivered > 0 {
		p.GeneratorCPUMicrosPerDelivered = round1(genCPU * 1e6 / float64(p.Delivered))
	}
	p.LoadAvgEnd = loadAvg()
	res.Rated = p
	e.logf("throughput: fixed-rate phase done: %s", p.describe())
}
