package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// FleetOptions say how to start a cluster of child `confab serve` nodes on
// one PostgreSQL database.
type FleetOptions struct {
	// Exe is the confab binary.
	Exe string
	// Nodes is how many nodes to start (at least 1).
	Nodes int
	// DSN is the PostgreSQL database. Unless Schema is set, the fleet makes
	// a fresh schema in it for the run and drops it at Close.
	DSN string
	// Schema, when set, is an existing empty schema to use as is (tests:
	// pgtest.Schema); the fleet neither makes nor drops it.
	Schema string
	// Lease is the nodes' [cluster] lease (default 2 s: a short failover).
	Lease time.Duration
	// Agents is how many agent accounts to create in the store.
	Agents int
	// Dir is where the nodes' scratch directories go (a temporary
	// directory, removed at Close, when empty).
	Dir string
	// ExtraConfig is appended to every node's configuration.
	ExtraConfig string
}

// Fleet is a running cluster: its nodes, the DSN they share (with the
// schema's search_path) and the agent tokens. Its methods are safe for
// concurrent use.
type Fleet struct {
	Nodes  []*Process
	DSN    string // with search_path: what the nodes use
	Tokens []string
	Lease  time.Duration

	baseDSN    string
	schema     string
	dropSchema bool
	dir        string
	removeDir  bool

	mu     sync.Mutex // guards killed
	killed map[int]bool
}

// StartFleet starts o.Nodes nodes on one schema, one after the other, each
// ready (/readyz) before the next starts, and creates the agent accounts.
func StartFleet(ctx context.Context, o FleetOptions) (f *Fleet, err error) {
	if o.Exe == "" || o.DSN == "" || o.Nodes < 1 {
		return nil, errors.New("fleet: need the confab binary, a PostgreSQL DSN (--store-dsn) and at least one node")
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Second
	}
	f = &Fleet{baseDSN: o.DSN, schema: o.Schema, Lease: o.Lease, dir: o.Dir, killed: map[int]bool{}}
	started := f // the returns below that fail set f to nil
	defer func() {
		if err != nil {
			started.Close()
		}
	}()
	if f.dir == "" {
		if f.dir, err = os.MkdirTemp("", "confab-fleet-"); err != nil {
			return nil, fmt.Errorf("fleet: %w", err)
		}
		f.removeDir = true
	}
	if f.schema == "" {
		var b [6]byte
		rand.Read(b[:])
		f.schema = "confab_bench_" + hex.EncodeToString(b[:])
		if err := execSQL(ctx, o.DSN, "CREATE SCHEMA "+f.schema); err != nil {
			return nil, fmt.Errorf("fleet: create schema: %w", err)
		}
		f.dropSchema = true
	}
	sep := "?"
	if strings.Contains(o.DSN, "?") {
		sep = "&"
	}
	f.DSN = o.DSN + sep + "search_path=" + f.schema
	cfg := fmt.Sprintf("[store]\ndriver = postgres\ndsn = %s\n[cluster]\nlease = %d\n%s", f.DSN, int(o.Lease.Round(time.Second)/time.Second), o.ExtraConfig)
	for i := range o.Nodes {
		dir := filepath.Join(f.dir, fmt.Sprintf("node-%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("fleet: %w", err)
		}
		p, err := StartServer(ctx, ServerOptions{Exe: o.Exe, Dir: dir, ExtraConfig: cfg})
		if err != nil {
			return nil, fmt.Errorf("fleet: node %d: %w", i, err)
		}
		f.Nodes = append(f.Nodes, p)
	}
	if o.Agents > 0 {
		adir := filepath.Join(f.dir, "agents")
		if err := os.MkdirAll(adir, 0o755); err != nil {
			return nil, fmt.Errorf("fleet: %w", err)
		}
		if f.Tokens, err = createAgents(ctx, o.Exe, adir, o.Agents, "--store-dsn", f.DSN); err != nil {
			return nil, fmt.Errorf("fleet: %w", err)
		}
	}
	return f, nil
}

// ChatURL is node i's Chat API v2 base URL.
func (f *Fleet) ChatURL(i int) string { return f.Nodes[i].URLs.WebAPI + "/genesys/2/chat" }

// ChatURLs returns every node's Chat API base URL, node first then the
// others in order (a client's node list, starting at node first).
func (f *Fleet) ChatURLs(first int) []string {
	var out []string
	for k := range f.Nodes {
		out = append(out, f.ChatURL((first+k)%len(f.Nodes)))
	}
	return out
}

// Kill SIGKILLs node i.
func (f *Fleet) Kill(i int) {
	f.mu.Lock()
	f.killed[i] = true
	f.mu.Unlock()
	f.Nodes[i].kill()
}

// Alive reports whether node i was not killed.
func (f *Fleet) Alive(i int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.killed[i]
}

// Close kills the nodes that still run, drops the run's schema (when the
// fleet made it) and removes the scratch directory.
func (f *Fleet) Close() {
	for _, p := range f.Nodes {
		p.Kill()
	}
	if f.dropSchema {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		execSQL(ctx, f.baseDSN, "DROP SCHEMA "+f.schema+" CASCADE")
		cancel()
	}
	if f.removeDir && os.Getenv("CONFAB_BENCH_KEEP") == "" {
		os.RemoveAll(f.dir)
	}
}

// Query runs a query on the fleet's schema and hands each row to scan.
func (f *Fleet) Query(ctx context.Context, sql string, scan func(pgx.Rows) error) error {
	conn, err := pgx.Connect(ctx, f.DSN)
	if err != nil {
		return fmt.Errorf("fleet: connect: %w", err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return fmt.Errorf("fleet: %s: %w", sql, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func execSQL(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}
