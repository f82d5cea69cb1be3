package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store/postgres/pgtest"
)

// TestSmokeFailover runs `confab bench failover` tiny: 2 nodes on
// PostgreSQL, 6 chats, node 0 killed. It checks the counts, never the
// speed: every chat of the killed node answered again on both sides, the
// times are measured, nothing acknowledged is lost or doubled, and the
// fleet's schema is dropped afterwards.
func TestSmokeFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real servers")
	}
	dsn := pgtest.DSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var log bytes.Buffer
	res, err := RunFailover(ctx, FailoverOptions{Exe: confabBinary(t), DSN: dsn, Nodes: 2, Chats: 6, AgentsPerNode: 1,
		Before: time.Second, Pace: 200 * time.Millisecond, Log: &log})
	if err != nil {
		t.Fatalf("failover: %v\n%s", err, log.String())
	}
	var table bytes.Buffer
	res.WriteTable(&table)
	t.Logf("%s\n%s", log.String(), table.String())
	r := res.Report
	if !res.Pass || r.Affected != 3 || r.NotAnswered != 0 || r.Lost != 0 || r.Duplicates != 0 || r.PushLost != 0 || r.PushDuplicates != 0 {
		t.Fatalf("failover run: pass %v, %+v", res.Pass, r)
	}
	if r.Answer.Max <= 0 || r.AgentBack.Max <= 0 || r.Acked < 6*2*3 {
		t.Errorf("nothing measured: %+v", r)
	}
	if !strings.Contains(table.String(), "answering again") {
		t.Errorf("the table does not report the failover times:\n%s", table.String())
	}
	// The run's own schema is gone (others' runs share the database and
	// have schemas of their own meanwhile).
	if !ownSchema.MatchString(res.Schema) {
		t.Fatalf("the run reports its schema as %q", res.Schema)
	}
	left := 0
	f := &Fleet{DSN: dsn}
	if err := f.Query(ctx, `SELECT count(*) FROM information_schema.schemata WHERE schema_name = '`+res.Schema+`'`, func(r pgx.Rows) error {
		return r.Scan(&left)
	}); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("the run's schema %s was left behind", res.Schema)
	}
}

// ownSchema is the form of a fleet's own schema name (and so safe to quote
// into a statement).
var ownSchema = regexp.MustCompile(`^confab_bench_[0-9a-f]{12}$`)

// TestSmokeClusterThroughput runs the throughput mode on one node and
// checks that messages flowed and none was lost or doubled; with the
// command's --json.
func TestSmokeClusterThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real servers")
	}
	dsn := pgtest.DSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "r.json")
	var out, errb bytes.Buffer
	err := Command(ctx, []string{"failover", "--store-dsn", dsn, "--mode", "throughput", "--nodes", "1", "--sessions", "4",
		"--agents-per-node", "1", "--duration", "1s", "--json", path}, confabBinary(t), &out, &errb)
	if err != nil {
		t.Fatalf("bench failover --mode throughput: %v\n%s\n%s", err, out.String(), errb.String())
	}
	t.Log(out.String())
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var res FailoverResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if !res.Pass || res.Report.Acked == 0 || res.PerSecond <= 0 || res.Report.Lost != 0 || res.Report.PushLost != 0 || res.Report.Duplicates != 0 {
		t.Fatalf("throughput run: %+v", res)
	}
}
