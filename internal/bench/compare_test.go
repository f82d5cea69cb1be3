package bench

import (
	"bytes"
	"html"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestComparePairsAndMachineCPU judges alternating rounds (1 then 0, 0 then
// 1): each round's ratio pairs that round's two runs whatever their order,
// and the whole machine's CPU per message gives the ratio the CPU alone
// allows; a round without a machine figure leaves that ratio unreported.
func TestComparePairsAndMachineCPU(t *testing.T) {
	// The server's share is 60% of what is not other; the generator's the rest.
	// The server sleeps 0.15 times a message durable, 0.05 in memory,
	// where the machine was measured.
	round := func(as string, perSec, machine, other float64) *Result {
		sleeps := map[string]float64{"1": 0.15, "0": 0.05}[as]
		if machine == 0 {
			sleeps = 0
		}
		return &Result{AutoSave: as, Store: storeSQLite, Pass: true, MessagesDeliveredPerSec: perSec,
			WindowMachineCPUMicros: machine, WindowOtherCPUMicros: other,
			WindowServerCPUMicros: (machine - other) * 0.6, WindowGeneratorCPUMicros: (machine - other) * 0.4,
			WindowServerSleeps: sleeps}
	}
	noSleeps := func(r *Result) *Result { r.WindowServerSleeps = 0; return r }
	for _, tc := range []struct {
		name      string
		rounds    []*Result
		pairs     []float64
		machine   [3]float64 // durable, its other, memory
		machRatio float64
		pairLine  string   // in the table
		spread    string   // in the table and in the HTML report
		machLines []string // in the table and in the HTML report
		noSleeps  bool     // no sleeps line: a round lacks the figure
	}{
		{"two rounds", []*Result{round("1", 800, 80, 20), round("0", 1000, 60, 2), round("0", 500, 70, 4), round("1", 450, 100, 30)},
			[]float64{0.8, 0.9}, [3]float64{90, 25, 65}, 0.722,
			"ratio per round: 0.800, 0.900 (min 0.800, max 0.900)",
			"mean of the rounds' ratios 0.850, 95% interval 0.215–1.485 (Student's t, 2 rounds): the 80% goal is not settled by these rounds",
			[]string{"auto-save 1 90.0 µs (processes other than server and generator 25.0 µs), auto-save 0 65.0 µs: the CPU alone allows a ratio of 0.722",
				"auto-save 1's extra CPU per message: server +1.8 µs (39.0 vs 37.2), generator +1.2 µs (26.0 vs 24.8: its work per message is the same in both), other processes +22.0 µs (25.0 vs 3.0)",
				"server's sleeps per message at full speed (voluntary context switches, all threads): auto-save 1 0.150, auto-save 0 0.050"}, false},
		{"a round without sleeps", []*Result{round("1", 800, 80, 20), noSleeps(round("0", 1000, 60, 2))},
			[]float64{0.8}, [3]float64{80, 20, 60}, 0.75, "", "",
			[]string{"auto-save 1 80.0 µs (processes other than server and generator 20.0 µs), auto-save 0 60.0 µs: the CPU alone allows a ratio of 0.750"}, true},
		{"no machine figure", []*Result{round("1", 800, 80, 20), round("0", 1000, 0, 0)},
			[]float64{0.8}, [3]float64{}, 0, "", "", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Comparison{Rounds: tc.rounds, Rate: 2000}
			c.judge()
			if !slices.Equal(c.PairRatios, tc.pairs) {
				t.Errorf("pair ratios %v, want %v", c.PairRatios, tc.pairs)
			}
			got := [3]float64{c.DurableMachineCPUMicros, c.DurableOtherCPUMicros, c.MemoryMachineCPUMicros}
			if got != tc.machine || c.MachineCPURatio != tc.machRatio {
				t.Errorf("machine CPU %v, ratio %v; want %v, %v", got, c.MachineCPURatio, tc.machine, tc.machRatio)
			}
			var table bytes.Buffer
			c.WriteTable(&table)
			wants := tc.machLines
			if tc.pairLine != "" {
				wants = append([]string{tc.pairLine, tc.spread}, wants...)
			}
			if tc.spread == "" && strings.Contains(table.String(), "95% interval") {
				t.Errorf("table gives an interval for one round:\n%s", table.String())
			}
			for _, want := range wants {
				if !strings.Contains(table.String(), want) {
					t.Errorf("table lacks %q:\n%s", want, table.String())
				}
			}
			if tc.noSleeps && strings.Contains(table.String(), "sleeps per message") {
				t.Errorf("table reports sleeps a round did not measure:\n%s", table.String())
			}
			if tc.machRatio == 0 && strings.Contains(table.String(), "whole machine") {
				t.Errorf("table reports a machine ratio it did not measure:\n%s", table.String())
			}
			path := filepath.Join(t.TempDir(), "c.html")
			if err := c.WriteHTML(path); err != nil {
				t.Fatal(err)
			}
			page, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range append([]string{tc.spread}, tc.machLines...) {
				if want != "" && !strings.Contains(html.UnescapeString(string(page)), want) {
					t.Errorf("report lacks %q", want)
				}
			}
			if tc.machRatio == 0 && strings.Contains(string(page), "whole machine") {
				t.Error("report gives a machine ratio it did not measure")
			}
		})
	}
}
