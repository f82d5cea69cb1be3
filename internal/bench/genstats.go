package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"text/tabwriter"

	"github.com/confab/confab/internal/api/storestats"
	"github.com/confab/confab/internal/store"
)

// The generator's own runtime, second by second. The generator shares the
// machine with the server, and a message's latency is taken when the
// generator's goroutine reads it: a goroutine that waited for a CPU, or a
// GC of the generator, makes a message late that the server delivered in
// time. Each Sample therefore carries the generator's figures for the same
// second (GenPoint): its CPU, its GC's CPU and pauses, how long its
// goroutines waited runnable before they ran (runtime/metrics
// /sched/latencies), its goroutines and its read and write system calls
// (/proc/self/io), so a late read by the generator is told apart from a
// late delivery by the server (densecause.go).

// GenPoint is one second of the generator's own runtime (this process).
type GenPoint struct {
	CPUPct    float64 `json:"cpu_percent"`        // utime+stime, % of one core
	SystemPct float64 `json:"cpu_system_percent"` // stime alone (the kernel's part)
	// GC figures as the server's timeline has them (StorePoint): cycles
	// that ended in the second, their GC and assist CPU (the runtime's
	// estimate, time on a P), the longest stop-the-world pause.
	GCCycles     uint64  `json:"gc_cycles"`
	GCCPUMs      float64 `json:"gc_cpu_ms"`
	AssistCPUMs  float64 `json:"gc_assist_cpu_ms"`
	GCPauseMaxMs float64 `json:"gc_pause_max_ms"`
	// RunnableP99Ms and RunnableMaxMs are how long the generator's
	// goroutines waited runnable for a CPU in the second (bucket upper
	// bounds): a reader that waited so long read its message that late.
	RunnableP50Ms float64 `json:"runnable_p50_ms"`
	RunnableP99Ms float64 `json:"runnable_p99_ms"`
	RunnableMaxMs float64 `json:"runnable_max_ms"`
	Goroutines    uint64  `json:"goroutines"`
	HeapLiveBytes uint64  `json:"heap_live_bytes,omitempty"`
	// Reads and writes are the generator's read- and write-type system
	// calls per second (syscr, syscw of /proc/self/io: sockets' reads and
	// writes; not epoll or futex). The kernel adds a child's counts to
	// them when the generator reaps it: none is reaped in a measured
	// phase unless the server exits, which fails the run.
	Reads  float64 `json:"read_syscalls_per_sec"`
	Writes float64 `json:"write_syscalls_per_sec"`
	// Voluntary and Involuntary are the generator's context switches per
	// second (getrusage): its threads going to sleep (the runtime's idle
	// threads, futex waits) and its threads taken off a CPU by the kernel
	// for another process (the machine short of CPU).
	Voluntary   float64 `json:"voluntary_switches_per_sec"`
	Involuntary float64 `json:"involuntary_switches_per_sec"`
}

// genTotals is the generator's runtime over a span (the measured phase).
type genTotals struct {
	GCCPUSeconds float64
	// PCPUSeconds is the runtime's own estimate of its Ps' busy time, the
	// base of the GC's share (both count time the OS took a thread away).
	PCPUSeconds float64
	Runnable    store.HistSnapshot
	Reads       int64
	Writes      int64
	Voluntary   int64
	Involuntary int64
}

// genMark is one reading of the generator's cumulative figures.
type genMark struct {
	gc         storestats.GC
	cpu, sys   float64 // selfCPU, selfSystemCPU
	vcsw, ivcs int64   // voluntary and involuntary context switches
	io         procIO
}

// procIO is the part of /proc/self/io the generator reports.
type procIO struct {
	Reads, Writes int64 // syscr, syscw
	OK            bool
}

// readGenMark reads the generator's cumulative figures now.
func readGenMark() genMark {
	m := genMark{gc: storestats.Take(context.Background(), nil).GC, io: readProcIO("/proc/self/io")}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		m.cpu, m.sys = tvSeconds(ru.Utime)+tvSeconds(ru.Stime), tvSeconds(ru.Stime)
		m.vcsw, m.ivcs = int64(ru.Nvcsw), int64(ru.Nivcsw)
	}
	return m
}

// readProcIO reads syscr and syscw from a /proc/<pid>/io file.
func readProcIO(path string) procIO {
	b, err := os.ReadFile(path)
	if err != nil {
		return procIO{}
	}
	return parseProcIO(b)
}

func parseProcIO(b []byte) procIO {
	var p procIO
	var seen int
	for line := range bytes.Lines(b) {
		k, v, ok := bytes.Cut(bytes.TrimSpace(line), []byte(":"))
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil {
			continue
		}
		switch string(k) {
		case "syscr":
			p.Reads, seen = n, seen+1
		case "syscw":
			p.Writes, seen = n, seen+1
		}
	}
	p.OK = seen == 2
	return p
}

// genPoint derives one second of the generator's runtime from two marks dt
// seconds apart.
func genPoint(a, b genMark, dt float64) GenPoint {
	if dt <= 0 {
		dt = 1e-3
	}
	ms := func(us uint64) float64 { return round2(float64(us) / 1000) }
	run := b.gc.RunnableMicros.Sub(a.gc.RunnableMicros)
	p := GenPoint{
		CPUPct:        round1(max(b.cpu-a.cpu, 0) / dt * 100),
		SystemPct:     round1(max(b.sys-a.sys, 0) / dt * 100),
		GCCycles:      b.gc.Cycles - min(a.gc.Cycles, b.gc.Cycles),
		GCCPUMs:       round2(max(b.gc.GCCPUSeconds-a.gc.GCCPUSeconds, 0) * 1000),
		AssistCPUMs:   round2(max(b.gc.AssistCPUSeconds-a.gc.AssistCPUSeconds, 0) * 1000),
		GCPauseMaxMs:  ms(b.gc.PauseMicros.Sub(a.gc.PauseMicros).Max()),
		RunnableP50Ms: ms(run.Quantile(0.5)),
		RunnableP99Ms: ms(run.Quantile(0.99)),
		RunnableMaxMs: ms(run.Max()),
		Goroutines:    b.gc.Goroutines,
		HeapLiveBytes: b.gc.HeapLiveBytes,
	}
	if a.io.OK && b.io.OK {
		p.Reads = round1(float64(max(b.io.Reads-a.io.Reads, 0)) / dt)
		p.Writes = round1(float64(max(b.io.Writes-a.io.Writes, 0)) / dt)
	}
	p.Voluntary = round1(float64(max(b.vcsw-a.vcsw, 0)) / dt)
	p.Involuntary = round1(float64(max(b.ivcs-a.ivcs, 0)) / dt)
	return p
}

// genSpan is the generator's runtime between two marks.
func genSpan(a, b genMark) genTotals {
	t := genTotals{GCCPUSeconds: max(b.gc.GCCPUSeconds-a.gc.GCCPUSeconds, 0), PCPUSeconds: max(b.gc.CPUSeconds-a.gc.CPUSeconds, 0),
		Runnable: b.gc.RunnableMicros.Sub(a.gc.RunnableMicros)}
	if a.io.OK && b.io.OK {
		t.Reads, t.Writes = b.io.Reads-a.io.Reads, b.io.Writes-a.io.Writes
	}
	t.Voluntary, t.Involuntary = b.vcsw-a.vcsw, b.ivcs-a.ivcs
	return t
}

// setGenerator records the generator's runtime over the measured phase in
// the result.
func (r *Result) setGenerator(t genTotals) {
	r.GeneratorGCCPUSeconds = round3(t.GCCPUSeconds)
	if t.PCPUSeconds > 0 {
		r.GeneratorGCSharePct = round1(100 * t.GCCPUSeconds / t.PCPUSeconds)
	}
	r.GeneratorRunnableP99Ms = round2(float64(t.Runnable.Quantile(0.99)) / 1000)
	r.GeneratorRunnableMaxMs = round2(float64(t.Runnable.Max()) / 1000)
	r.GeneratorReadSyscalls, r.GeneratorWriteSyscalls = t.Reads, t.Writes
	r.GeneratorVoluntarySwitches, r.GeneratorInvoluntarySwitches = t.Voluntary, t.Involuntary
}

// perSession divides the generator's figures by the sessions created
// (dense, async, churn) — the unit the dense goal's cost is judged in.
func (r *Result) generatorPerSession() {
	if r.SessionsCreated <= 0 {
		return
	}
	n := float64(r.SessionsCreated)
	r.GeneratorCPUMicrosPerSession = round1(r.GeneratorCPUSeconds * 1e6 / n)
	if r.GeneratorReadSyscalls+r.GeneratorWriteSyscalls > 0 {
		r.GeneratorSyscallsPerSession = round1(float64(r.GeneratorReadSyscalls+r.GeneratorWriteSyscalls) / n)
	}
}

// generatorRuntime is the table's line about the generator's own runtime.
func (r *Result) generatorRuntime() string {
	s := fmt.Sprintf("GOMAXPROCS %d; GC %.2f s of CPU, %.0f%% of the generator's (the runtime's estimates, time on a P: under load they count time the OS took the thread away)",
		r.GeneratorProcs, r.GeneratorGCCPUSeconds, r.GeneratorGCSharePct)
	s += fmt.Sprintf("; its goroutines waited runnable p99 %.2f ms, max %.2f ms", r.GeneratorRunnableP99Ms, r.GeneratorRunnableMaxMs)
	if r.GeneratorReadSyscalls+r.GeneratorWriteSyscalls > 0 {
		s += fmt.Sprintf("; syscalls %d reads + %d writes", r.GeneratorReadSyscalls, r.GeneratorWriteSyscalls)
		if r.MessagesDelivered > 0 {
			s += fmt.Sprintf(" (%.2f per delivered message", float64(r.GeneratorReadSyscalls+r.GeneratorWriteSyscalls)/float64(r.MessagesDelivered))
			if r.GeneratorSyscallsPerSession > 0 {
				s += fmt.Sprintf(", %.1f per session", r.GeneratorSyscallsPerSession)
			}
			s += ")"
		}
	}
	s += fmt.Sprintf("; context switches %d voluntary, %d involuntary (taken off a CPU for another process)", r.GeneratorVoluntarySwitches, r.GeneratorInvoluntarySwitches)
	if r.GeneratorCPUMicrosPerSession > 0 {
		s += fmt.Sprintf("; CPU %.0f µs per session", r.GeneratorCPUMicrosPerSession)
	}
	return s
}

// writeGenTimeline prints the generator's runtime next to each second's
// delivery latency.
func (r *Result) writeGenTimeline(w io.Writer) {
	if len(r.Series) == 0 {
		return
	}
	fmt.Fprintln(w, "generator timeline (per second; this process: a late read here is the generator's, not the server's):")
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "t s\tdelivered/s\tlatency p50\tp99\tmax ms\tgen cpu %\tkernel %\tgc n\tgc cpu ms\tassist\tpause max ms\trunnable p50\tp99\tmax ms\tgoroutines\treads/s\twrites/s\tvol cs/s\tinvol cs/s\t")
	for _, s := range r.Series {
		g := s.Gen
		fmt.Fprintf(tw, "%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.0f\t%.0f\t%d\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t\n",
			s.T, s.Delivered, s.LatencyP50Ms, s.LatencyP99Ms, s.LatencyMaxMs, g.CPUPct, g.SystemPct, g.GCCycles, g.GCCPUMs, g.AssistCPUMs,
			g.GCPauseMaxMs, g.RunnableP50Ms, g.RunnableP99Ms, g.RunnableMaxMs, g.Goroutines, g.Reads, g.Writes, g.Voluntary, g.Involuntary)
	}
	tw.Flush()
	if r.Late != nil {
		fmt.Fprintln(w, r.Late) // densecause.go
	}
}
