package health_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/confab/confab/internal/api/health"
	"github.com/confab/confab/internal/kpi"
)

func newServer(t *testing.T) (*kpi.Set, *httptest.Server) {
	t.Helper()
	set := kpi.New()
	mux := http.NewServeMux()
	health.New(health.Options{Counters: set}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return set, srv
}

func get(t *testing.T, srv *httptest.Server, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func values(t *testing.T, body string) map[string]int64 {
	t.Helper()
	var m map[string]int64
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not a JSON object of values: %v\n%s", err, body)
	}
	return m
}

func parseProm(t *testing.T, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, body)
	}
	return mfs
}

func TestParseQuery(t *testing.T) {
	cases := []struct {
		query string
		want  health.Query
	}{
		{"", health.Query{Content: kpi.ContentAll}},
		{"metadata=true&content=set&reset=yes&prometheus=YES&gms_info=no", health.Query{Metadata: true, Content: kpi.ContentSet, Reset: true, Prometheus: true}},
		{"metadata=1&reset=on&prometheus=maybe&content=NEW", health.Query{Content: kpi.ContentNew}},
		{"content=everything&metadata=", health.Query{Content: kpi.ContentAll}},
		{"content=set&content=new", health.Query{Content: kpi.ContentSet}},
		{"gms_info=true&unknown=1", health.Query{Content: kpi.ContentAll, GMSInfo: true}},
		{"metadata=%20No%20&reset=false", health.Query{Content: kpi.ContentAll}},
	}
	for _, c := range cases {
		q, _ := url.ParseQuery(c.query)
		if got := health.ParseQuery(q); got != c.want {
			t.Errorf("%q: got %+v, want %+v", c.query, got, c.want)
		}
	}
}

func TestCountersContent(t *testing.T) {
	set, srv := newServer(t)
	set.SessionsCreated.Add(3)
	set.Messages[kpi.PartyClient].Add(5)

	_, hdr, body := get(t, srv, "/Counters")
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	all := values(t, body)
	if len(all) != len(set.Metadata()) || all["session_created"] != 3 || all["message_client"] != 5 {
		t.Fatalf("content=all: %d counters (want %d), session_created %d, message_client %d", len(all), len(set.Metadata()), all["session_created"], all["message_client"])
	}
	if _, ok := all["session_closed"]; !ok {
		t.Error("content=all lacks the zero session_closed")
	}

	setOnly := values(t, mustGet(t, srv, "/Counters?content=set"))
	if _, ok := setOnly["session_closed"]; ok {
		t.Error("content=set lists a zero counter")
	}
	if setOnly["session_created"] != 3 || setOnly["message_client"] != 5 {
		t.Errorf("content=set: %v", setOnly)
	}

	// new: since this endpoint's previous answer (the two above).
	set.SessionsClosed.Inc()
	nw := values(t, mustGet(t, srv, "/Counters?content=new"))
	if _, ok := nw["session_closed"]; !ok {
		t.Errorf("content=new misses the counter updated since the last answer: %v", nw)
	}
	if _, ok := nw["session_created"]; ok {
		t.Errorf("content=new lists a counter unchanged since the last answer: %v", nw)
	}
	again := values(t, mustGet(t, srv, "/Counters?content=new"))
	if _, ok := again["session_closed"]; ok {
		t.Errorf("content=new repeats a counter: %v", again)
	}

	// An invalid content value is the default, all.
	if got := values(t, mustGet(t, srv, "/Counters?content=bogus")); len(got) != len(set.Metadata()) {
		t.Errorf("content=bogus: %d counters, want all %d", len(got), len(set.Metadata()))
	}
}

func mustGet(t *testing.T, srv *httptest.Server, path string) string {
	t.Helper()
	code, _, body := get(t, srv, path)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	return body
}

func TestCountersMetadataAndReset(t *testing.T) {
	set, srv := newServer(t)
	set.SessionsCreated.Add(7)
	set.SessionsCurrent.Set(2)

	// metadata overrides content.
	for _, q := range []string{"metadata=true", "metadata=yes&content=set", "metadata=TRUE&content=new&prometheus=true"} {
		var meta map[string]struct{ Description, Type string }
		if err := json.Unmarshal([]byte(mustGet(t, srv, "/Counters?"+q)), &meta); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		m, ok := meta["session_created"]
		if !ok || m.Description == "" || m.Type != "cumulative" || meta["session_current"].Type != "current" {
			t.Fatalf("%s: metadata %+v", q, meta)
		}
		if len(meta) != len(set.Metadata()) {
			t.Errorf("%s: %d described, want %d", q, len(meta), len(set.Metadata()))
		}
		for name, m := range meta {
			if m.Description == "" {
				t.Errorf("%s has no description", name)
			}
		}
	}
	if set.SessionsCreated.Value() != 7 {
		t.Fatal("metadata reset the counters")
	}

	// reset first, then the rest: the answer already shows zero.
	got := values(t, mustGet(t, srv, "/Counters?reset=true&content=all"))
	if got["session_created"] != 0 {
		t.Errorf("after reset=true the answer shows session_created %d", got["session_created"])
	}
	if got["session_current"] != 2 {
		t.Errorf("reset touched the current value session_current: %d", got["session_current"])
	}
	set.SessionsCreated.Inc()
	mustGet(t, srv, "/Counters?reset=yes&metadata=true")
	if v := set.SessionsCreated.Value(); v != 0 {
		t.Errorf("reset with metadata: session_created %d", v)
	}
	set.SessionsCreated.Inc()
	mustGet(t, srv, "/Counters?reset=nope")
	if v := set.SessionsCreated.Value(); v != 1 {
		t.Errorf("invalid reset value reset the counters: %d", v)
	}
}

func TestCountersPrometheusAndGMS(t *testing.T) {
	set, srv := newServer(t)
	set.SessionsCreated.Add(4)
	set.SessionsCurrent.Set(1)

	_, hdr, body := get(t, srv, "/Counters?prometheus=true&content=set")
	if !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Errorf("Content-Type %q", hdr.Get("Content-Type"))
	}
	mfs := parseProm(t, body)
	c := mfs[health.KPIPrefix+"session_created_total"]
	if c == nil || c.GetType() != dto.MetricType_COUNTER || c.Metric[0].GetCounter().GetValue() != 4 {
		t.Fatalf("session_created in Prometheus form: %v", c)
	}
	g := mfs[health.KPIPrefix+"session_current"]
	if g == nil || g.GetType() != dto.MetricType_GAUGE || g.Metric[0].GetGauge().GetValue() != 1 {
		t.Fatalf("session_current in Prometheus form: %v", g)
	}
	if _, ok := mfs[health.KPIPrefix+"session_closed_total"]; ok {
		t.Error("content=set sent a zero counter in Prometheus form")
	}

	// gms_info: an empty Prometheus document, every other parameter ignored.
	code, hdr, body := get(t, srv, "/Counters?gms_info=true&reset=true&metadata=true")
	if code != http.StatusOK || body != "" || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Errorf("gms_info: %d %q %q", code, hdr.Get("Content-Type"), body)
	}
	if set.SessionsCreated.Value() != 4 {
		t.Error("gms_info did not ignore reset")
	}
}

func TestMetrics(t *testing.T) {
	set, srv := newServer(t)
	set.SessionsCurrent.Set(3)
	set.Messages[kpi.PartyAgent].Add(2)
	set.Messages[kpi.PartyBot].Add(1)
	set.Request("webapi", "send", 200, 3_000_000, false)
	set.Request("esp", "Message", 500, 1_000_000, false)
	set.Commit(10, 1, 2_000_000)
	set.SessionsCreated.Add(5)
	set.Reset() // /metrics keeps the raw, monotonic values

	mfs := parseProm(t, mustGet(t, srv, "/metrics"))
	gauge := func(name string) float64 {
		mf := mfs[name]
		if mf == nil || mf.GetType() != dto.MetricType_GAUGE {
			t.Fatalf("%s: %v", name, mf)
		}
		return mf.Metric[0].GetGauge().GetValue()
	}
	if v := gauge("confab_sessions_active"); v != 3 {
		t.Errorf("confab_sessions_active %v", v)
	}
	if v := mfs["confab_sessions_created_total"].Metric[0].GetCounter().GetValue(); v != 5 {
		t.Errorf("confab_sessions_created_total %v after a /Counters reset, want the raw 5", v)
	}
	msgs := mfs["confab_messages_total"]
	if msgs == nil || msgs.GetType() != dto.MetricType_COUNTER {
		t.Fatalf("confab_messages_total: %v", msgs)
	}
	byParty := map[string]float64{}
	for _, m := range msgs.Metric {
		if len(m.Label) != 1 || m.Label[0].GetName() != "party" {
			t.Fatalf("confab_messages_total labels %v", m.Label)
		}
		byParty[m.Label[0].GetValue()] = m.GetCounter().GetValue()
	}
	if byParty["agent"] != 2 || byParty["bot"] != 1 || byParty["client"] != 0 {
		t.Errorf("messages by party %v", byParty)
	}
	h := mfs["confab_request_duration_seconds"]
	if h == nil || h.GetType() != dto.MetricType_HISTOGRAM || len(h.Metric) != 2 {
		t.Fatalf("confab_request_duration_seconds: %v", h)
	}
	for _, m := range h.Metric {
		if m.GetHistogram().GetSampleCount() != 1 {
			t.Errorf("histogram %v: count %d", m.Label, m.GetHistogram().GetSampleCount())
		}
	}
	if c := mfs["confab_store_commit_duration_seconds"]; c == nil || c.Metric[0].GetHistogram().GetSampleCount() != 1 {
		t.Errorf("confab_store_commit_duration_seconds: %v", c)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "confab_slow_consumer_disconnects_total", "confab_limit_refusals_total", "confab_process_memory_bytes"} {
		if mfs[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	// No label carries user input: every label name is one of ours.
	for name, mf := range mfs {
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				switch l.GetName() {
				case "party", "api", "op", "kind", "what", "le", "version":
				default:
					t.Errorf("%s has label %s", name, l.GetName())
				}
			}
		}
	}
}

// FuzzCounters checks that no query makes /Counters fail: unknown or
// invalid parameters take their defaults.
func FuzzCounters(f *testing.F) {
	for _, s := range []string{"", "metadata=true", "content=new&reset=yes", "prometheus=true&content=set", "gms_info=yes", "%zz", "content=%00", "reset=true&reset=false", "a=b&&&=="} {
		f.Add(s)
	}
	set := kpi.New()
	mux := http.NewServeMux()
	health.New(health.Options{Counters: set}).Register(mux)
	f.Fuzz(func(t *testing.T, raw string) {
		set.SessionsCreated.Inc()
		r := httptest.NewRequest(http.MethodGet, "/Counters", nil)
		r.URL.RawQuery = raw
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("query %q: status %d", raw, w.Code)
		}
		q := health.ParseQuery(r.URL.Query())
		switch {
		case q.GMSInfo:
			if w.Body.Len() != 0 {
				t.Fatalf("gms_info answered %q", w.Body.String())
			}
		case q.Prometheus && !q.Metadata:
			parseProm(t, w.Body.String())
		default:
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("query %q: invalid JSON %q", raw, w.Body.String())
			}
		}
	})
}
