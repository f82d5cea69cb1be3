package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Comparison is `confab bench throughput --auto-save both`: Rounds pairs of
// runs, each a fresh child server, alternating transcript-auto-save 1 and 0
// (1 first in odd rounds, 0 first in even ones, so neither always runs on
// the warmer or the quieter machine). Every run has the fixed-rate phase
// (CPU per message at Rate) and then the full-speed phase (delivered per
// second). The goals of issue 17 are judged on the means over the rounds:
// durable delivered per second ≥ 20,000; durable ≥ 80% of in-memory; CPU
// per durable message at 2,000/s ≤ 1.5× that of an in-memory one.
type Comparison struct {
	Scenario string    `json:"scenario"`
	Command  string    `json:"command,omitempty"`
	Date     time.Time `json:"date"`
	Machine  Machine   `json:"machine"`
	Sessions int       `json:"option_sessions"`
	Rate     float64   `json:"option_rate_per_sec"`
	// Store is the child servers' store (sqlite or postgres).
	Store string `json:"store,omitempty"`

	Rounds []*Result `json:"rounds"`

	// Means over the rounds of each setting.
	DurableDeliveredPerSec float64 `json:"durable_delivered_per_sec"`
	MemoryDeliveredPerSec  float64 `json:"memory_delivered_per_sec"`
	DeliveredRatio         float64 `json:"durable_over_memory_delivered"`
	// DurableP99Ms is the worst p99 delivery latency of the auto-save 1
	// rounds at full speed.
	DurableP99Ms           float64 `json:"durable_p99_ms"`
	DurableCPUMicrosAtRate float64 `json:"durable_cpu_us_per_message_at_rate"`
	MemoryCPUMicrosAtRate  float64 `json:"memory_cpu_us_per_message_at_rate"`
	CPURatio               float64 `json:"durable_over_memory_cpu_at_rate"`
	// PairRatios is each round's durable over in-memory delivered per
	// second, in round order: their spread is the measurement's noise.
	PairRatios []float64 `json:"durable_over_memory_delivered_per_round,omitempty"`
	// PairRatioMean is their mean and PairRatioLow95–PairRatioHigh95 its
	// 95% confidence interval (pairci.go), with two rounds or more.
	PairRatioMean   float64 `json:"durable_over_memory_delivered_round_mean,omitempty"`
	PairRatioLow95  float64 `json:"durable_over_memory_delivered_round_low95,omitempty"`
	PairRatioHigh95 float64 `json:"durable_over_memory_delivered_round_high95,omitempty"`
	// The whole machine's busy CPU per delivered message in the full-speed
	// windows (means of each setting), and MachineCPURatio, in-memory over
	// durable: the durable/memory throughput ratio that the CPU alone allows
	// when both settings saturate the machine. A measured ratio below it
	// is time the durable rounds left the CPUs idle, waiting.
	DurableMachineCPUMicros float64 `json:"durable_machine_cpu_us_per_message,omitempty"`
	MemoryMachineCPUMicros  float64 `json:"memory_machine_cpu_us_per_message,omitempty"`
	DurableOtherCPUMicros   float64 `json:"durable_other_cpu_us_per_message,omitempty"`
	MachineCPURatio         float64 `json:"memory_over_durable_machine_cpu,omitempty"`
	// The server's and the generator's share of those figures (means of
	// each setting, same windows). The generator does the same work per
	// message in both settings, so its extra in the durable rounds comes
	// from sharing the cores with the durable path's other work (the
	// store's writer, PostgreSQL, the kernel's I/O), not from work of its
	// own.
	DurableServerCPUMicros    float64 `json:"durable_server_cpu_us_per_message,omitempty"`
	MemoryServerCPUMicros     float64 `json:"memory_server_cpu_us_per_message,omitempty"`
	DurableGeneratorCPUMicros float64 `json:"durable_generator_cpu_us_per_message,omitempty"`
	MemoryGeneratorCPUMicros  float64 `json:"memory_generator_cpu_us_per_message,omitempty"`
	MemoryOtherCPUMicros      float64 `json:"memory_other_cpu_us_per_message,omitempty"`
	// The server's sleeps (voluntary context switches) per message at full
	// speed, the mean of each setting's rounds; 0 when a round lacks it.
	DurableServerSleeps float64 `json:"durable_server_voluntary_switches_per_message,omitempty"`
	MemoryServerSleeps  float64 `json:"memory_server_voluntary_switches_per_message,omitempty"`

	Goals    []GoalCheck `json:"goals"`
	GoalMet  bool        `json:"goal_met"`
	Failures []string    `json:"failures,omitempty"`
	Pass     bool        `json:"pass"`
}

// RunCompare runs the alternating rounds. A round that could not be carried
// out ends the comparison with an error; one that found a correctness
// failure is kept and fails the comparison.
func RunCompare(ctx context.Context, o Options) (*Comparison, error) {
	if err := o.Defaults(); err != nil {
		return nil, err
	}
	if o.AutoSave != "both" {
		return nil, fmt.Errorf("compare: --auto-save is %q, not both", o.AutoSave)
	}
	if o.Rate <= 0 {
		o.Rate, o.RateDuration = defaultCompareRatePerS, 10*time.Second
	}
	c := &Comparison{Scenario: o.Scenario, Command: o.Command, Date: time.Now().UTC().Truncate(time.Second),
		Machine: thisMachine(), Sessions: o.Sessions, Rate: o.Rate}
	for i := 0; i < o.Rounds; i++ {
		order := []string{"1", "0"}
		if i%2 == 1 {
			order = []string{"0", "1"}
		}
		for _, as := range order {
			ro := o
			ro.AutoSave = as
			ro.Command = fmt.Sprintf("%s (round %d, auto-save %s)", o.Command, i+1, as)
			if ro.Progress != nil {
				fmt.Fprintf(ro.Progress, "=== round %d of %d: transcript-auto-save = %s\n", i+1, o.Rounds, as)
			}
			r, err := Run(ctx, ro)
			if err != nil {
				return nil, fmt.Errorf("round %d, auto-save %s: %w", i+1, as, err)
			}
			c.Rounds = append(c.Rounds, r)
		}
	}
	c.judge()
	return c, nil
}

// judge derives the means, ratios and goals.
func (c *Comparison) judge() {
	var dur, mem, durCPU, memCPU, durMach, memMach, durOther []float64
	var durServer, memServer, durGen, memGen, memOther []float64
	var durSleeps, memSleeps []float64
	c.Pass = true
	for _, r := range c.Rounds {
		if !r.Pass {
			c.Pass = false
			c.Failures = append(c.Failures, fmt.Sprintf("%s: %s", r.Command, strings.Join(r.Failures, "; ")))
		}
		cpu := 0.0
		if r.Rated != nil && r.Rated.KeptUp {
			cpu = r.Rated.CPUMicrosPerDelivered
		}
		c.Store = r.Store
		switch r.AutoSave {
		case "1":
			c.DurableP99Ms = max(c.DurableP99Ms, r.Latency.P99)
			dur = append(dur, r.MessagesDeliveredPerSec)
			durCPU = append(durCPU, cpu)
			durMach = append(durMach, r.WindowMachineCPUMicros)
			durOther = append(durOther, r.WindowOtherCPUMicros)
			durServer = append(durServer, r.WindowServerCPUMicros)
			durGen = append(durGen, r.WindowGeneratorCPUMicros)
			durSleeps = append(durSleeps, r.WindowServerSleeps)
		case "0":
			mem = append(mem, r.MessagesDeliveredPerSec)
			memCPU = append(memCPU, cpu)
			memMach = append(memMach, r.WindowMachineCPUMicros)
			memServer = append(memServer, r.WindowServerCPUMicros)
			memGen = append(memGen, r.WindowGeneratorCPUMicros)
			memOther = append(memOther, r.WindowOtherCPUMicros)
			memSleeps = append(memSleeps, r.WindowServerSleeps)
		}
	}
	// A round is two consecutive runs, one of each setting, in either order.
	c.PairRatios = nil
	for i := 0; i+1 < len(c.Rounds); i += 2 {
		d, m := c.Rounds[i], c.Rounds[i+1]
		if d.AutoSave == "0" {
			d, m = m, d
		}
		if d.AutoSave == "1" && m.AutoSave == "0" && d.MessagesDeliveredPerSec > 0 && m.MessagesDeliveredPerSec > 0 {
			c.PairRatios = append(c.PairRatios, round3(d.MessagesDeliveredPerSec/m.MessagesDeliveredPerSec))
		}
	}
	c.PairRatioMean, c.PairRatioLow95, c.PairRatioHigh95 = 0, 0, 0
	if iv, ok := pairInterval(c.PairRatios); ok {
		c.PairRatioMean, c.PairRatioLow95, c.PairRatioHigh95 = iv.Mean, iv.Low, iv.High
	}
	if len(durMach) > 0 && len(memMach) > 0 && !slices.Contains(durMach, 0) && !slices.Contains(memMach, 0) {
		c.DurableMachineCPUMicros, c.MemoryMachineCPUMicros = round1(mean(durMach)), round1(mean(memMach))
		c.DurableOtherCPUMicros = round1(mean(durOther))
		c.MachineCPURatio = round3(c.MemoryMachineCPUMicros / c.DurableMachineCPUMicros)
		c.DurableServerCPUMicros, c.MemoryServerCPUMicros = round1(mean(durServer)), round1(mean(memServer))
		c.DurableGeneratorCPUMicros, c.MemoryGeneratorCPUMicros = round1(mean(durGen)), round1(mean(memGen))
		c.MemoryOtherCPUMicros = round1(mean(memOther))
	}
	c.DurableServerSleeps, c.MemoryServerSleeps = 0, 0
	if len(durSleeps) > 0 && len(memSleeps) > 0 && !slices.Contains(durSleeps, 0) && !slices.Contains(memSleeps, 0) {
		c.DurableServerSleeps, c.MemoryServerSleeps = round3(mean(durSleeps)), round3(mean(memSleeps))
	}
	c.DurableDeliveredPerSec, c.MemoryDeliveredPerSec = round1(mean(dur)), round1(mean(mem))
	if c.MemoryDeliveredPerSec > 0 {
		c.DeliveredRatio = round3(c.DurableDeliveredPerSec / c.MemoryDeliveredPerSec)
	}
	cpuKnown := !slices.Contains(durCPU, 0) && !slices.Contains(memCPU, 0)
	if cpuKnown {
		c.DurableCPUMicrosAtRate, c.MemoryCPUMicrosAtRate = round1(mean(durCPU)), round1(mean(memCPU))
		if c.MemoryCPUMicrosAtRate > 0 {
			c.CPURatio = round3(c.DurableCPUMicrosAtRate / c.MemoryCPUMicrosAtRate)
		}
	}
	cpuGot := fmt.Sprintf("%.2f× (%.1f µs durable, %.1f µs in memory)", c.CPURatio, c.DurableCPUMicrosAtRate, c.MemoryCPUMicrosAtRate)
	if !cpuKnown {
		cpuGot = "not measured: a fixed-rate phase did not keep up or had no CPU figure"
	}
	on := storeLabel(c.Store)
	c.Goals = []GoalCheck{
		{Name: "throughput delivered per second, auto-save 1" + on, Want: fmt.Sprintf("≥ %.0f", goalThroughputPerSec),
			Got: fmt.Sprintf("%.0f", c.DurableDeliveredPerSec), Met: c.DurableDeliveredPerSec >= goalThroughputPerSec},
		{Name: "durable vs memory: delivered per second, auto-save 1 over auto-save 0" + on, Want: fmt.Sprintf("≥ %.0f%%", goalDurableRatio*100),
			Got: fmt.Sprintf("%.1f%% (%.0f / %.0f)", c.DeliveredRatio*100, c.DurableDeliveredPerSec, c.MemoryDeliveredPerSec),
			Met: c.DeliveredRatio >= goalDurableRatio},
		{Name: fmt.Sprintf("CPU per message at %.0f msg/s, auto-save 1 over auto-save 0%s", c.Rate, on), Want: fmt.Sprintf("≤ %.1f×", goalCPURatio),
			Got: cpuGot, Met: cpuKnown && c.CPURatio > 0 && c.CPURatio <= goalCPURatio},
		{Name: "every round correct (nothing lost, duplicated, reordered or leaked)", Want: "all rounds PASS",
			Got: fmt.Sprintf("%d of %d PASS", countPass(c.Rounds), len(c.Rounds)), Met: c.Pass},
		// The latency bound, at full speed with every sender
		// waiting for its acknowledgement: the worst round counts.
		{Name: "p99 delivery latency at full speed, auto-save 1" + on, Want: fmt.Sprintf("< %.0f ms", goalDenseP99Ms),
			Got: fmt.Sprintf("%.1f ms (worst round)", c.DurableP99Ms), Met: len(dur) > 0 && c.DurableP99Ms < goalDenseP99Ms},
	}
	c.GoalMet = true
	for _, g := range c.Goals {
		c.GoalMet = c.GoalMet && g.Met
	}
}

func countPass(rs []*Result) int {
	n := 0
	for _, r := range rs {
		if r.Pass {
			n++
		}
	}
	return n
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// WriteTable prints every round's headline figures and the goals.
func (c *Comparison) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "round\tauto-save\tload\tdelivered/s (peak)\tp50 / p99 ms\tCPU/msg full speed (generator)\tat %.0f/s: delivered/s, CPU/msg (generator)\tresult\n", c.Rate)
	for i, r := range c.Rounds {
		rated := "—"
		if p := r.Rated; p != nil {
			rated = fmt.Sprintf("%.0f, %.1f µs (%.1f µs)", p.DeliveredPerSec, p.CPUMicrosPerDelivered, p.GeneratorCPUMicrosPerDelivered)
			if !p.KeptUp {
				rated += " (did not keep up)"
			}
		}
		result := "PASS"
		if !r.Pass {
			result = "FAIL"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s → %s\t%.0f (%.0f)\t%.2f / %.2f\t%.1f µs (%.1f µs)\t%s\t%.2f / %.2f\t%s\n", i/2+1, r.AutoSave,
			firstField(r.LoadAvgStart), firstField(r.LoadAvgEnd), r.MessagesDeliveredPerSec, r.PeakDeliveredPerSec,
			r.Latency.P50, r.Latency.P99, r.CPUMicrosPerDelivered, r.GeneratorCPUMicrosPerDelivered, rated,
			r.GeneratorRunnableP99Ms, r.GeneratorRunnableMaxMs, result)
	}
	tw.Flush()
	if c.Store != "" {
		fmt.Fprintf(w, "store: %s\n", c.Store)
	}
	fmt.Fprintf(w, "mean delivered/s: auto-save 1 %.0f, auto-save 0 %.0f (ratio %.3f)\n", c.DurableDeliveredPerSec, c.MemoryDeliveredPerSec, c.DeliveredRatio)
	if len(c.PairRatios) > 1 {
		fmt.Fprintf(w, "ratio per round: %s (min %.3f, max %.3f)\n", joinRatios(c.PairRatios), slices.Min(c.PairRatios), slices.Max(c.PairRatios))
	}
	if l := c.spreadLine(); l != "" {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintf(w, "mean CPU per message at %.0f/s: auto-save 1 %.1f µs, auto-save 0 %.1f µs (ratio %.3f)\n", c.Rate, c.DurableCPUMicrosAtRate, c.MemoryCPUMicrosAtRate, c.CPURatio)
	for _, l := range c.machineCPULines() {
		fmt.Fprintln(w, l)
	}
	for _, g := range c.Goals {
		fmt.Fprintf(w, "goal %s\n", g)
	}
	for _, f := range c.Failures {
		fmt.Fprintf(w, "FAILURE: %s\n", f)
	}
	if c.Pass {
		fmt.Fprintln(w, "result: PASS (correct)")
	} else {
		fmt.Fprintln(w, "result: FAIL")
	}
}

// machineCPULines describes the whole machine's CPU per message at full
// speed and where the durable rounds' extra went; nothing if a round had no
// machine figure.
func (c *Comparison) machineCPULines() []string {
	if c.MachineCPURatio <= 0 {
		return nil
	}
	lines := []string{
		fmt.Sprintf("whole machine's CPU per message at full speed: auto-save 1 %.1f µs (processes other than server and generator %.1f µs), auto-save 0 %.1f µs: the CPU alone allows a ratio of %.3f",
			c.DurableMachineCPUMicros, c.DurableOtherCPUMicros, c.MemoryMachineCPUMicros, c.MachineCPURatio),
		fmt.Sprintf("auto-save 1's extra CPU per message: server %+.1f µs (%.1f vs %.1f), generator %+.1f µs (%.1f vs %.1f: its work per message is the same in both), other processes %+.1f µs (%.1f vs %.1f)",
			c.DurableServerCPUMicros-c.MemoryServerCPUMicros, c.DurableServerCPUMicros, c.MemoryServerCPUMicros,
			c.DurableGeneratorCPUMicros-c.MemoryGeneratorCPUMicros, c.DurableGeneratorCPUMicros, c.MemoryGeneratorCPUMicros,
			c.DurableOtherCPUMicros-c.MemoryOtherCPUMicros, c.DurableOtherCPUMicros, c.MemoryOtherCPUMicros),
	}
	if c.DurableServerSleeps > 0 {
		lines = append(lines, fmt.Sprintf("server's sleeps per message at full speed (voluntary context switches, all threads): auto-save 1 %.3f, auto-save 0 %.3f",
			c.DurableServerSleeps, c.MemoryServerSleeps))
	}
	return lines
}

// spreadLine gives the per-round ratios' interval (as judge found it) and
// its verdict on the goal; empty with fewer than two rounds.
func (c *Comparison) spreadLine() string {
	if len(c.PairRatios) < 2 {
		return ""
	}
	iv := ratioInterval{Mean: c.PairRatioMean, Low: c.PairRatioLow95, High: c.PairRatioHigh95, Rounds: len(c.PairRatios)}
	return iv.line(goalDurableRatio)
}

func joinRatios(rs []float64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%.3f", r)
	}
	return strings.Join(parts, ", ")
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// WriteJSON writes the comparison, rounds included, to path.
func (c *Comparison) WriteJSON(path string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode comparison: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

var comparePage = template.Must(template.New("compare").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>confab bench throughput, auto-save 1 vs 0 — {{.C.Date.Format "2006-01-02 15:04"}}</title>
<style>
body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}
.fail{color:#b00;font-weight:bold}.pass{color:#070;font-weight:bold}svg{margin:1em 0;display:block}
</style></head><body>
<h1>confab bench throughput: transcript-auto-save 1 vs 0</h1>
<p>{{if .C.Pass}}<span class="pass">PASS</span>{{else}}<span class="fail">FAIL</span>{{end}}
— {{.C.Date.Format "2006-01-02 15:04:05 MST"}}, {{.C.Machine.NProc}} CPUs, {{.Mem}} RAM, {{.C.Machine.GoVersion}},
{{.C.Sessions}} sessions, fixed-rate phase at {{printf "%.0f" .C.Rate}} msg/s{{with .C.Store}}, store {{.}}{{end}}</p>
{{with .C.Command}}<p><code>{{.}}</code></p>{{end}}
{{range .C.Failures}}<p class="fail">{{.}}</p>{{end}}
<h2>Goals (issue 17)</h2>
<table><tr><th>goal</th><th>want</th><th>got</th><th></th></tr>
{{range .C.Goals}}<tr><td>{{.Name}}</td><td>{{.Want}}</td><td>{{.Got}}</td><td>{{if .Met}}<span class="pass">met</span>{{else}}<span class="fail">missed</span>{{end}}</td></tr>{{end}}
</table>
{{with .Spread}}<p>{{.}}</p>{{end}}
{{with .CPU}}<h2>CPU per message at full speed</h2>
{{range .}}<p>{{.}}</p>{{end}}{{end}}
<h2>Rounds</h2>
<table><tr><th>round</th><th>auto-save</th><th>load</th><th>delivered/s (peak)</th><th>p50 / p99 ms</th><th>CPU per message, full speed</th><th>fixed-rate phase</th><th>result</th></tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}
</table>
{{range .Charts}}{{.}}{{end}}
</body></html>
`))

// WriteHTML writes a self-contained report: goals, rounds and each round's
// throughput over time.
func (c *Comparison) WriteHTML(path string) error {
	var rows [][]string
	var charts []template.HTML
	for i, r := range c.Rounds {
		rated := "—"
		if p := r.Rated; p != nil {
			rated = p.describe()
		}
		result := "PASS"
		if !r.Pass {
			result = "FAIL: " + strings.Join(r.Failures, "; ")
		}
		rows = append(rows, []string{fmt.Sprint(i/2 + 1), r.AutoSave, r.LoadAvgStart + " → " + r.LoadAvgEnd,
			fmt.Sprintf("%.0f (%.0f)", r.MessagesDeliveredPerSec, r.PeakDeliveredPerSec),
			fmt.Sprintf("%.2f / %.2f", r.Latency.P50, r.Latency.P99), fmt.Sprintf("%.1f µs (generator %.1f µs)", r.CPUMicrosPerDelivered, r.GeneratorCPUMicrosPerDelivered), rated, result})
		xs := make([]float64, len(r.Series))
		dl := make([]float64, len(r.Series))
		for j, s := range r.Series {
			xs[j], dl[j] = s.T, s.Delivered
		}
		charts = append(charts, svgChart(fmt.Sprintf("Round %d, auto-save %s: delivered per second (fixed-rate phase, then full speed)", i/2+1, r.AutoSave),
			"messages/s", xs, []chartLine{{"delivered/s", "#1f77b4", dl}}))
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = comparePage.Execute(f, map[string]any{"C": c, "Mem": gib(c.Machine.MemBytes), "Rows": rows, "Charts": charts, "CPU": c.machineCPULines(), "Spread": c.spreadLine()})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
