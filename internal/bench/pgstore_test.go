package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store/postgres/pgtest"
)

// TestCompareGoalsPostgres judges rounds run on PostgreSQL: every goal
// names the store, and the durable/memory ratio and the p99 of the
// durable rounds are reported and judged (the end-to-end run on
// PostgreSQL is TestServerConfigPostgresAgents; the comparison's own smoke
// test is TestSmokeThroughputCompare).
func TestCompareGoalsPostgres(t *testing.T) {
	round := func(as string, perSec, p99 float64) *Result {
		return &Result{AutoSave: as, Store: storePostgres, Pass: true, MessagesDeliveredPerSec: perSec, Latency: Percentiles{P99: p99}}
	}
	for _, tc := range []struct {
		rounds         []*Result
		ratioMet, p99M bool
		p99            float64
	}{
		{[]*Result{round("1", 900, 40), round("0", 1000, 10), round("0", 1000, 12), round("1", 700, 120)}, true, false, 120},
		{[]*Result{round("1", 500, 60), round("0", 1000, 10)}, false, true, 60},
	} {
		c := &Comparison{Rounds: tc.rounds, Rate: 2000}
		c.judge()
		var table bytes.Buffer
		c.WriteTable(&table)
		if c.Store != storePostgres || !strings.Contains(table.String(), "store: postgres") {
			t.Fatalf("store %q; want postgres, named in the table:\n%s", c.Store, table.String())
		}
		var ratio, p99 *GoalCheck
		for i, g := range c.Goals {
			if !strings.HasSuffix(g.Name, " [postgres]") && !strings.HasPrefix(g.Name, "every round") {
				t.Errorf("goal %q does not name the store", g.Name)
			}
			switch {
			case strings.HasPrefix(g.Name, "durable vs memory"):
				ratio = &c.Goals[i]
			case strings.HasPrefix(g.Name, "p99 delivery latency"):
				p99 = &c.Goals[i]
			}
		}
		if ratio == nil || p99 == nil || ratio.Met != tc.ratioMet || p99.Met != tc.p99M || c.DurableP99Ms != tc.p99 {
			t.Errorf("goals %+v, p99 %.1f; want the ratio met=%v and the p99 %.0f ms met=%v", c.Goals, c.DurableP99Ms, tc.ratioMet, tc.p99, tc.p99M)
		}
	}
}

// TestServerConfigPostgresAgents gives the store in --server-config's
// [store] section: the run's agents must be created in that PostgreSQL
// store (they were created in an unused SQLite file, so no agent could
// log in), and the run must deliver every message.
func TestServerConfigPostgresAgents(t *testing.T) {
	dsn, schema := pgtest.Schema(t)
	sdsn := withSearchPath(dsn, schema)
	o := Options{Scenario: "throughput", Sessions: 2, Duration: time.Second, Exe: confabBinary(t),
		ServerConfig: "\n[store]\ndriver = postgres\ndsn = " + sdsn + "\n"}
	var log bytes.Buffer
	o.Progress = &log
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if !res.Pass || res.Store != storePostgres || res.MessagesDelivered == 0 {
		t.Fatalf("pass %v, store %q, delivered %d: %v\n%s", res.Pass, res.Store, res.MessagesDelivered, res.Failures, log.String())
	}
	conn, err := pgx.Connect(ctx, sdsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var agents, events int
	if err := conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM agents), (SELECT count(*) FROM interactions)").Scan(&agents, &events); err != nil || agents == 0 || events == 0 {
		t.Fatalf("the schema holds %d agents and %d interactions (%v); want the run's", agents, events, err)
	}
}

// TestSetupStoreSchema checks that --store-dsn gives a run a schema of its
// own, named in the server's configuration and the agents' flags, and
// drops it afterwards.
func TestSetupStoreSchema(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bs, err := setupStore(ctx, &Options{StoreDSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(bs.config, "search_path=")
	if bs.name != storePostgres || i < 0 || len(bs.agentFlags) != 2 || !strings.Contains(bs.agentFlags[1], "search_path=") {
		bs.cleanup()
		t.Fatalf("store %+v; want postgres with a schema in the config and the agent flags", bs)
	}
	schema := strings.TrimSpace(bs.config[i+len("search_path="):])
	exists := func() bool {
		t.Helper()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	if !exists() {
		bs.cleanup()
		t.Fatalf("schema %q not made", schema)
	}
	bs.cleanup()
	if exists() {
		t.Fatalf("schema %q still there after the run", schema)
	}
	if _, err := setupStore(ctx, &Options{StoreDSN: dsn, ServerConfig: "[store]\ndriver = sqlite\n"}); err == nil {
		t.Fatal("--store-dsn with a [store] in --server-config: no error")
	}
}
