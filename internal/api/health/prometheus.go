package health

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/confab/confab/internal/kpi"
)

// KPIPrefix starts the metric names of /Counters?prometheus=true: the KPI
// counter's name after it, with _total after cumulative ones.
const KPIPrefix = "confab_kpi_"

// snapshot is a collector of one /Counters snapshot.
type snapshot struct {
	set    *kpi.Set
	values []kpi.Value
}

func (s snapshot) Describe(chan<- *prometheus.Desc) {}

func (s snapshot) Collect(ch chan<- prometheus.Metric) {
	kinds := map[string]kpi.Meta{}
	for _, m := range s.set.Metadata() {
		kinds[m.Name] = m
	}
	for _, v := range s.values {
		m := kinds[v.Name]
		name, t := KPIPrefix+v.Name, prometheus.GaugeValue
		if m.Type == kpi.Cumulative.String() {
			name, t = name+"_total", prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, m.Description, nil, nil), t, float64(v.Value))
	}
}

// writePrometheus answers with the snapshot in the Prometheus text format.
func writePrometheus(w http.ResponseWriter, set *kpi.Set, values []kpi.Value) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(snapshot{set: set, values: values})
	// Gather cannot fail for const metrics with distinct names; whatever
	// it returns is sent (never a 500).
	mfs, _ := reg.Gather()
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	w.Header().Set("Content-Type", string(format))
	enc := expfmt.NewEncoder(w, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return
		}
	}
}
