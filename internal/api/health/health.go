package health

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/confab/confab/internal/kpi"
)

// Options configure a Handler.
type Options struct {
	// Counters are the node's KPI counters (required).
	Counters *kpi.Set
	// Collectors are added to the /metrics registry besides the counters,
	// the histograms and the Go and process collectors.
	Collectors []prometheus.Collector
}

// Handler serves /Counters and /metrics.
type Handler struct {
	set      *kpi.Set
	reader   *kpi.Reader
	registry *prometheus.Registry
	metrics  http.Handler
}

// New returns a Handler with its own Prometheus registry.
func New(opts Options) *Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(opts.Counters.Collector())
	reg.MustRegister(opts.Counters.Histograms()...)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, c := range opts.Collectors {
		reg.MustRegister(c)
	}
	return &Handler{
		set:      opts.Counters,
		reader:   opts.Counters.NewReader(),
		registry: reg,
		metrics:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}),
	}
}

// Registry returns the /metrics registry.
func (h *Handler) Registry() *prometheus.Registry { return h.registry }

// Register mounts the routes.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /Counters", h.counters)
	mux.Handle("GET /metrics", h.metrics)
}

// Query is a parsed /Counters query. Parameters that are missing or
// invalid hold their defaults.
type Query struct {
	Metadata   bool
	Content    kpi.Content
	Reset      bool
	Prometheus bool
	GMSInfo    bool
}

// ParseQuery reads the /Counters parameters. Booleans are true, yes, false
// or no in any case; content is all, new or set; anything else, and a
// missing parameter, takes the default (false, all). A repeated parameter
// uses its first value.
func ParseQuery(q map[string][]string) Query {
	first := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return strings.ToLower(strings.TrimSpace(v[0]))
		}
		return ""
	}
	flag := func(k string) bool {
		switch first(k) {
		case "true", "yes":
			return true
		}
		return false
	}
	qr := Query{Metadata: flag("metadata"), Reset: flag("reset"), Prometheus: flag("prometheus"), GMSInfo: flag("gms_info"), Content: kpi.ContentAll}
	switch c := kpi.Content(first("content")); c {
	case kpi.ContentAll, kpi.ContentNew, kpi.ContentSet:
		qr.Content = c
	}
	return qr
}

// counters answers /Counters, applying the reference's processing rules in
// order: gms_info answers alone (an empty Prometheus document: this node
// has no gateway nodes to report); reset zeroes the cumulative counters
// before anything else is read; metadata, when true, is answered instead
// of the values (content is then ignored); otherwise the values content
// selects are sent, as Prometheus text when prometheus is true and as a
// JSON object otherwise.
func (h *Handler) counters(w http.ResponseWriter, r *http.Request) {
	q := ParseQuery(r.URL.Query())
	w.Header().Set("Cache-Control", "no-store")
	if q.GMSInfo {
		w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
		return
	}
	if q.Reset {
		h.set.Reset()
	}
	if q.Metadata {
		meta := map[string]kpiMeta{}
		for _, m := range h.set.Metadata() {
			meta[m.Name] = kpiMeta{Description: m.Description, Type: m.Type}
		}
		writeJSON(w, meta)
		return
	}
	values := h.reader.Snapshot(q.Content)
	if q.Prometheus {
		writePrometheus(w, h.set, values)
		return
	}
	out := make(map[string]int64, len(values))
	for _, v := range values {
		out[v.Name] = v.Value
	}
	writeJSON(w, out)
}

type kpiMeta struct {
	Description string `json:"description"`
	Type        string `json:"type"`
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
