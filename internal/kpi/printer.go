package kpi

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/confab/confab/internal/clock"
)

// PrintSettings are the [health-service] log-output options.
type PrintSettings struct {
	Period  time.Duration // log-output-timeout; 0 = never print
	Always  bool          // log-output-proviso always (else update)
	Content Content       // log-output-content
}

// Printer writes the counters to the log every period, on the injected
// clock. Create it with Set.StartPrinter, call Reconfigure when the
// settings change and Stop at shutdown. Its methods are safe for
// concurrent use.
type Printer struct {
	set      *Set
	clock    clock.Clock
	log      *slog.Logger
	settings func() PrintSettings
	values   *Reader // what content=new compares with
	changes  *Reader // what proviso=update compares with

	mu      sync.Mutex // guards the following
	timer   clock.Timer
	period  time.Duration
	stopped bool
}

// StartPrinter starts printing s to log with the live settings.
func (s *Set) StartPrinter(clk clock.Clock, log *slog.Logger, settings func() PrintSettings) *Printer {
	p := &Printer{set: s, clock: clk, log: log, settings: settings, values: s.NewReader(), changes: s.NewReader()}
	p.Reconfigure()
	return p
}

// Reconfigure applies changed settings: a new period starts counting now.
func (p *Printer) Reconfigure() {
	period := p.settings().Period
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || (period == p.period && p.timer != nil) {
		return
	}
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.period = period
	if period > 0 {
		p.timer = p.clock.AfterFunc(period, p.tick)
	}
}

// Stop ends the printing.
func (p *Printer) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
}

func (p *Printer) tick() {
	st := p.settings()
	p.Print(st)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.period = st.Period
	p.timer = nil
	if st.Period > 0 {
		p.timer = p.clock.AfterFunc(st.Period, p.tick)
	}
}

// Print writes one log line with the counters st.Content selects, unless
// st.Always is false and no counter changed since the previous Print.
func (p *Printer) Print(st PrintSettings) {
	changed := p.changes.Changed()
	if !st.Always && !changed {
		return
	}
	values := p.values.Snapshot(st.Content)
	attrs := make([]slog.Attr, 0, len(values)+1)
	attrs = append(attrs, slog.String("content", string(st.Content)))
	for _, v := range values {
		attrs = append(attrs, slog.Int64(v.Name, v.Value))
	}
	p.log.LogAttrs(context.Background(), slog.LevelInfo, "kpi counters", attrs...)
}
