package bench

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"os"
	"strings"
)

// chartLine is one line of a chart.
type chartLine struct {
	name  string
	color string
	ys    []float64
}

// svgChart draws lines over xs as a self-contained SVG element.
func svgChart(title, unit string, xs []float64, lines []chartLine) template.HTML {
	const w, h = 760.0, 260.0
	const left, right, top, bottom = 70.0, 20.0, 30.0, 40.0
	pw, ph := w-left-right, h-top-bottom
	xmax, ymax := 1.0, 0.0
	for _, x := range xs {
		xmax = math.Max(xmax, x)
	}
	for _, l := range lines {
		for _, y := range l.ys {
			if !math.IsNaN(y) && !math.IsInf(y, 0) {
				ymax = math.Max(ymax, y)
			}
		}
	}
	ymax = niceCeil(ymax)
	px := func(x float64) float64 { return left + x/xmax*pw }
	py := func(y float64) float64 { return top + ph - y/ymax*ph }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="11">`, w, h, w, h)
	fmt.Fprintf(&b, `<text x="%.0f" y="18" font-size="13" font-weight="bold">%s</text>`, left, html.EscapeString(title))
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`, left, top, pw, ph)
	for i := 0; i <= 4; i++ {
		y := ymax * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#eee"/>`, left, left+pw, py(y), py(y))
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`, left-5, py(y)+4, html.EscapeString(shortNum(y)))
	}
	for i := 0; i <= 5; i++ {
		x := xmax * float64(i) / 5
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%.0fs</text>`, px(x), top+ph+15, x)
	}
	fmt.Fprintf(&b, `<text x="12" y="%.0f" transform="rotate(-90 12 %.0f)" text-anchor="middle">%s</text>`, top+ph/2, top+ph/2, html.EscapeString(unit))
	for li, l := range lines {
		var pts strings.Builder
		for i, y := range l.ys {
			if i >= len(xs) || math.IsNaN(y) || math.IsInf(y, 0) {
				continue
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", px(xs[i]), py(y))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, l.color, strings.TrimSpace(pts.String()))
		lx := left + 10 + float64(li)*170
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="3" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`,
			lx, top+ph+25, l.color, lx+16, top+ph+30, html.EscapeString(l.name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text in it was escaped above
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func shortNum(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.1fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 10 || v == 0:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

var reportPage = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>confab bench {{.R.Scenario}} — {{.R.Date.Format "2006-01-02 15:04"}}</title>
<style>
body{font-family:sans-serif;max-width:820px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}
.fail{color:#b00;font-weight:bold}.pass{color:#070;font-weight:bold}svg{margin:1em 0;display:block}
</style></head><body>
<h1>confab bench {{.R.Scenario}}</h1>
<p>{{if .R.Pass}}<span class="pass">PASS</span>{{else}}<span class="fail">FAIL</span>{{end}}
— {{.R.Date.Format "2006-01-02 15:04:05 MST"}}, {{.R.Machine.NProc}} CPUs, {{.Mem}} RAM, {{.R.Machine.GoVersion}},
load {{.R.LoadAvgStart}} → {{.R.LoadAvgEnd}}</p>
{{with .R.Command}}<p><code>{{.}}</code></p>{{end}}
{{range .R.Failures}}<p class="fail">{{.}}</p>{{end}}
{{range .R.Warnings}}<p>warning: {{.}}</p>{{end}}
<table>{{range .Rows}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>{{end}}</table>
{{range .Charts}}{{.}}{{end}}
</body></html>
`))

// WriteHTML writes a self-contained report (inline SVG, no scripts) to path.
func (r *Result) WriteHTML(path string) error {
	xs := make([]float64, len(r.Series))
	col := func(f func(Sample) float64) []float64 {
		out := make([]float64, len(r.Series))
		for i, s := range r.Series {
			out[i] = f(s)
		}
		return out
	}
	for i, s := range r.Series {
		xs[i] = s.T
	}
	charts := []template.HTML{
		svgChart("Delivery latency over time", "ms", xs, []chartLine{
			{"p50", "#1f77b4", col(func(s Sample) float64 { return s.LatencyP50Ms })},
			{"p99", "#d62728", col(func(s Sample) float64 { return s.LatencyP99Ms })},
			{"max", "#bbbbbb", col(func(s Sample) float64 { return s.LatencyMaxMs })},
		}),
		svgChart("Throughput over time", "messages/s", xs, []chartLine{
			{"sent", "#2ca02c", col(func(s Sample) float64 { return s.Sent })},
			{"delivered", "#1f77b4", col(func(s Sample) float64 { return s.Delivered })},
		}),
		svgChart("Sessions", "sessions, sessions/s", xs, []chartLine{
			{"open", "#9467bd", col(func(s Sample) float64 { return float64(s.Concurrent) })},
			{"created/s", "#2ca02c", col(func(s Sample) float64 { return s.Created })},
			{"closed/s", "#ff7f0e", col(func(s Sample) float64 { return s.Closed })},
		}),
		svgChart("Server CPU", "% of one core", xs, []chartLine{
			{"cpu", "#d62728", col(func(s Sample) float64 { return s.ServerCPU })},
		}),
		svgChart("Server resident memory", "MiB", xs, []chartLine{
			{"rss", "#8c564b", col(func(s Sample) float64 { return float64(s.ServerRSS) / (1 << 20) })},
		}),
		svgChart("Generator (this process): CPU and late reads", "% of one core, ms", xs, []chartLine{
			{"generator cpu %", "#2ca02c", col(func(s Sample) float64 { return s.Gen.CPUPct })},
			{"runnable p99 ms", "#9467bd", col(func(s Sample) float64 { return s.Gen.RunnableP99Ms })},
			{"GC CPU ms", "#bcbd22", col(func(s Sample) float64 { return s.Gen.GCCPUMs })},
			{"delivery p99 ms", "#d62728", col(func(s Sample) float64 { return s.LatencyP99Ms })},
		}),
	}
	charts = append(charts, timelineCharts(r)...) // timeline.go
	rows := [][2]string{
		{"sessions created / closed", fmt.Sprintf("%d / %d", r.SessionsCreated, r.SessionsClosed)},
		{"concurrent sessions max", fmt.Sprint(r.ConcurrentSessionsMax)},
		{"messages sent / delivered", fmt.Sprintf("%d / %d", r.MessagesSent, r.MessagesDelivered)},
		{"delivered per second", fmt.Sprintf("%.1f (peak %.0f)", r.MessagesDeliveredPerSec, r.PeakDeliveredPerSec)},
		{"latency p50 / p95 / p99 / max", fmt.Sprintf("%.2f / %.2f / %.2f / %.2f ms", r.Latency.P50, r.Latency.P95, r.Latency.P99, r.Latency.Max)},
		{"errors", fmt.Sprintf("%d: %s", r.ErrorsTotal, errorSummary(r.Errors))},
		{"lost / duplicated / reordered / leaked", fmt.Sprintf("%d / %d / %d / %d", r.Lost, r.Duplicated, r.Reordered, r.Leaked)},
		{"server CPU", fmt.Sprintf("%.2f s (%.1f µs per delivered message)", r.ServerCPUSeconds, r.CPUMicrosPerDelivered)},
		{"generator CPU", fmt.Sprintf("%.2f s, %.2f s of it in the kernel (%.1f µs per delivered message)", r.GeneratorCPUSeconds, r.GeneratorSystemCPUSeconds, r.GeneratorCPUMicrosPerDelivered)},
		{"CPU per delivered message", r.cpuPerMessage()},
		{"generator runtime", r.generatorRuntime()},
		{"server RSS peak", fmt.Sprintf("%s (%.0f bytes per session)", mib(r.ServerRSSPeakBytes), r.MemoryPerSessionBytes)},
		{"vs reference", fmt.Sprintf("%.1f× (%s)", r.RefRatio, r.RefRatioOf)},
		{"goal", goalText(r)},
	}
	if r.AutoSave != "" {
		rows = append(rows, [2]string{"transcript-auto-save", r.AutoSave})
	}
	if p := r.Rated; p != nil {
		rows = append(rows, [2]string{"fixed-rate phase", p.describe()})
	}
	for _, g := range r.Goals {
		rows = append(rows, [2]string{"goal check", g.String()})
	}
	for k, v := range r.Extra {
		rows = append(rows, [2]string{k, fmt.Sprint(v)})
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = reportPage.Execute(f, map[string]any{"R": r, "Mem": gib(r.Machine.MemBytes), "Rows": rows, "Charts": charts})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// goalText says whether the run met its scenario's goal, and by how much it
// missed it.
func goalText(r *Result) string {
	if r.GoalMet {
		return "met: " + r.Goal
	}
	return "missed: " + r.Goal + "; " + strings.Join(r.GoalMisses, "; ")
}
