package kpi

import "github.com/prometheus/client_golang/prometheus"

// Collector exports a Set's counters to a Prometheus registry with their
// conventional names: cumulative counters as counters (their raw value
// since start, unaffected by resets), current ones as gauges. Counters
// sharing a metric name become one metric family told apart by a label.
type Collector struct{ set *Set }

// Collector returns the Prometheus collector of s.
func (s *Set) Collector() *Collector { return &Collector{set: s} }

// Describe sends nothing: the collector is unchecked, so counters added
// later (Gauge) need no re-registration.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect sends every counter's current value.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	descs := map[string]*prometheus.Desc{}
	for _, k := range c.set.list() {
		d := descs[k.prom]
		if d == nil {
			var labels []string
			help := k.help
			if k.lbl[0] != "" {
				labels = []string{k.lbl[0]}
				help = familyHelp(k.prom, help)
			}
			d = prometheus.NewDesc(k.prom, help, labels, nil)
			descs[k.prom] = d
		}
		t := prometheus.CounterValue
		if k.kind == Current {
			t = prometheus.GaugeValue
		}
		var lv []string
		if k.lbl[0] != "" {
			lv = []string{k.lbl[1]}
		}
		ch <- prometheus.MustNewConstMetric(d, t, float64(k.raw()), lv...)
	}
}

// familyHelp is the help text of a labelled family: one text for all its
// members (Prometheus requires it), taken from a fixed table.
func familyHelp(name, fallback string) string {
	if h, ok := familyHelps[name]; ok {
		return h
	}
	return fallback
}

var familyHelps = map[string]string{
	"confab_parties_joined_total":                  "Parties that joined a session, by party kind.",
	"confab_messages_total":                        "Messages sent, by party kind.",
	"confab_notices_total":                         "Notices sent, by party kind.",
	"confab_timeouts_total":                        "Parties removed by a timeout, by kind (disconnect: protocol inactivity or lost connection; inactivity: idle session).",
	"confab_limit_refusals_total":                  "Requests refused because a load limit was reached, by what was refused.",
	"confab_slow_consumer_disconnects_total":       "Connections closed because they could not keep up, by API.",
	"confab_routing_agents":                        "Logged-in agents and bots, by routing state.",
	"confab_requests_total":                        "HTTP requests served, by API.",
	"confab_request_errors_total":                  "Requests answered with HTTP status 400 or above, by API.",
	"confab_request_processing_milliseconds_total": "Time spent processing requests, by API, in milliseconds.",
}
