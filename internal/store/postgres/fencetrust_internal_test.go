package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/postgres/pgtest"
)

func TestFencePlan(t *testing.T) {
	known := func() *fenceTrust {
		t := &fenceTrust{}
		t.learn([]learnt{
			{"a", ownerRead{"n1", 1, 0}},
			{"b", ownerRead{"n1", 2, 0}},
			{"c", ownerRead{"n2", 1, 3}},
			{"old", ownerRead{"n2", 1, 2}}, // read before n2's third claim
		})
		return t
	}
	st := func(fence string) op { return op{what: "stmt", st: &stmt{fence: fence}} }
	for _, c := range []struct {
		name      string
		batch     []op
		trusted   []string
		untrusted []string
		nodes     []string
		claims    []int64
	}{
		{"unknown sessions are read", []op{ev("x", 0, 1), ev("y", 0, 1), ev("x", 1, 1)}, nil, []string{"x", "y"}, nil, nil},
		{"known epochs are trusted", []op{ev("a", 5, 1), ev("b", 0, 2), ev("a", 6, 1)}, []string{"a", "b"}, nil, []string{"n1"}, []int64{0}},
		{"two nodes", []op{ev("c", 0, 1), ev("a", 0, 1)}, []string{"a", "c"}, nil, []string{"n1", "n2"}, []int64{0, 3}},
		{"another epoch is read", []op{ev("a", 0, 2), ev("b", 0, 2)}, []string{"b"}, []string{"a"}, []string{"n1"}, []int64{0}},
		{"read before the node's last claim", []op{ev("old", 0, 1)}, nil, []string{"old"}, nil, nil},
		{"a session with another fenced write is read", []op{ev("a", 0, 1), route("a", "q", 1), st("b"), ev("b", 0, 2)}, nil, []string{"a", "b"}, nil, nil},
		{"unfenced writes", []op{ev("a", 0, 0), route("x", "q", 0), st(""), fnOp("k")}, nil, nil, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := known().plan(c.batch)
			trusted := trustedOf(p)
			if !slices.Equal(trusted, c.trusted) {
				t.Errorf("trusted %q, want %q", trusted, c.trusted)
			}
			slices.Sort(p.untrusted)
			if !slices.Equal(p.untrusted, c.untrusted) {
				t.Errorf("untrusted %q, want %q", p.untrusted, c.untrusted)
			}
			// The nodes come in map order: compare them sorted, with their counts.
			type nc struct {
				n string
				c int64
			}
			var got, want []nc
			for i := range p.nodes {
				got = append(got, nc{p.nodes[i], p.claims[i]})
			}
			for i := range c.nodes {
				want = append(want, nc{c.nodes[i], c.claims[i]})
			}
			slices.SortFunc(got, func(a, b nc) int { return strings.Compare(a.n, b.n) })
			if !slices.Equal(got, want) {
				t.Errorf("nodes %v, want %v", got, want)
			}
		})
	}
	t.Run("forget", func(t *testing.T) {
		tr := known()
		tr.forget("a")
		if p := tr.plan([]op{ev("a", 0, 1)}); p.trusted("a") {
			t.Fatalf("a forgotten session is trusted: %v", p)
		}
	})
}

// trustedOf lists the sessions p trusts, sorted.
func trustedOf(p fencePlan) []string {
	var ids []string
	for id := range p.sessions {
		if p.trusted(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// trusted is what s's writer knows of session id's owner row.
func trusted(s *Store, id string) (ownerRead, bool) {
	s.trust.mu.Lock()
	defer s.trust.mu.Unlock()
	r, ok := s.trust.sessions[id]
	return r, ok
}

// TestTrustedFence writes events of sessions whose owner rows the writer
// has read: it trusts them until a claim from their node counts itself,
// then it reads every row again — the claimed session's old epoch is
// fenced, the node's other session is written and trusted anew.
func TestTrustedFence(t *testing.T) {
	s := openInternal(t, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node := uniqueNode(t)
	for _, id := range []string{"s1", "s2"} {
		if err := s.OwnNew(ctx, id, node).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if failed := mustFlush(t, s, []op{ev("s1", 0, 1), ev("s2", 0, 1)}); len(failed) > 0 {
		t.Fatal(failed)
	}
	for _, id := range []string{"s1", "s2"} {
		if r, ok := trusted(s, id); !ok || r != (ownerRead{node, 1, 0}) {
			t.Fatalf("after the first batch, %s: %+v %v, want trusted at epoch 1, count 0", id, r, ok)
		}
	}
	batch := []op{ev("s1", 1, 1), ev("s2", 1, 1)}
	if p := s.trust.plan(batch); len(trustedOf(p)) != 2 || p.untrusted != nil {
		t.Fatalf("plan of the second batch: %+v, want both trusted", p)
	}
	if failed := mustFlush(t, s, batch); len(failed) > 0 {
		t.Fatal(failed)
	}
	// Another node's store claims s1 (this store has not seen it).
	other, err := Open(ctx, pgtest.DSN(t), Options{Schema: s.opts.Schema, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	if _, err := other.Claim(ctx, store.Owner{SessionID: "s1", NodeID: node, Epoch: 1}, "node-b"); err != nil {
		t.Fatal(err)
	}
	var claims int64
	if err := s.pool.QueryRow(ctx, `SELECT claims FROM fence_claims WHERE node_id = $1`, node).Scan(&claims); err != nil || claims != 1 {
		t.Fatalf("the claim counted %d (%v), want 1", claims, err)
	}
	// Still trusted by this store's map; the statement must find the count changed.
	batch = []op{ev("s1", 2, 1), ev("s2", 2, 1)}
	if p := s.trust.plan(batch); len(trustedOf(p)) != 2 {
		t.Fatalf("plan after the claim: %+v, want both trusted by the map", p)
	}
	errs := outcome(len(batch), mustFlush(t, s, batch))
	if !errors.Is(errs[0], store.ErrFenced) || errs[1] != nil {
		t.Fatalf("after the claim: s1 %v (want ErrFenced), s2 %v (want written)", errs[0], errs[1])
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM session_events WHERE session_id = 's1' AND position = 2`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the fenced event is stored (%d, %v)", n, err)
	}
	if r, ok := trusted(s, "s2"); !ok || r != (ownerRead{node, 1, 1}) {
		t.Fatalf("s2 after the claim: %+v %v, want trusted at epoch 1, count 1", r, ok)
	}
	if p := s.trust.plan([]op{ev("s1", 3, 1)}); p.trusted("s1") {
		t.Fatalf("s1 is trusted at the ended epoch: %+v", p)
	}
	// The new owner's writes: read once, then trusted.
	for pos := int64(2); pos < 4; pos++ {
		if failed := mustFlush(t, other, []op{ev("s1", pos, 2)}); len(failed) > 0 {
			t.Fatal(failed)
		}
	}
	if r, ok := trusted(other, "s1"); !ok || r != (ownerRead{"node-b", 2, 0}) {
		t.Fatalf("the new owner's s1: %+v %v, want trusted at epoch 2", r, ok)
	}
	// A released session is forgotten.
	if err := s.Release(ctx, "s2", 1); err != nil {
		t.Fatal(err)
	}
	if _, ok := trusted(s, "s2"); ok {
		t.Fatal("a released session is still trusted")
	}
}

// TestTrustLearntOnlyOnCommit: a pipelined batch the server refuses (here
// a replayed event) is written again by the statement path; what the
// refused pipeline read must not be trusted.
func TestTrustLearntOnlyOnCommit(t *testing.T) {
	s := openInternal(t, 4)
	ctx := context.Background()
	node := uniqueNode(t)
	if err := s.OwnNew(ctx, "r1", node).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO session_events (session_id, position, event_id, at, data) VALUES ('r2', 0, 1, 1, '{}')`); err != nil {
		t.Fatal(err)
	}
	before := s.w.nFellBack.Load()
	errs := outcome(2, mustFlush(t, s, []op{ev("r1", 0, 1), ev("r2", 0, 0)}))
	if s.w.nFellBack.Load() != before+1 {
		t.Fatal("the batch was not refused by the pipeline")
	}
	if errs[0] != nil || !errors.Is(errs[1], store.ErrConflict) {
		t.Fatalf("outcomes %v, want r1 written and r2 a conflict", errs)
	}
	if r, ok := trusted(s, "r1"); ok {
		t.Fatalf("trusted from a refused pipeline: %+v", r)
	}
}

// TestMigrationFenceClaims migrates a schema at version 8 (owner rows, no
// fence_claims) to the current one: the rows are kept, claims count
// themselves and the owner fence holds.
func TestMigrationFenceClaims(t *testing.T) {
	dsn, schema := pgtest.Schema(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m store.Migration) bool { return m.Version == 9 })
	if i < 0 {
		t.Fatal("no migration 9")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = schema
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := migrateUpTo(ctx, conn, ms[:i]); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO session_owners (session_id, node_id, epoch) VALUES ('m1', 'node-a', 4)`); err != nil {
		t.Fatal(err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('fence_claims') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Fatalf("fence_claims before migration 9: %v %v", exists, err)
	}
	s, err := Open(ctx, dsn, Options{Schema: schema, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if o, err := s.GetOwner(ctx, "m1"); err != nil || o.Epoch != 4 || o.NodeID != "node-a" {
		t.Fatalf("owner row after the migration: %+v %v", o, err)
	}
	if failed := mustFlush(t, s, []op{ev("m1", 0, 4)}); len(failed) > 0 {
		t.Fatal(failed)
	}
	if _, err := s.Claim(ctx, store.Owner{SessionID: "m1", NodeID: "node-a", Epoch: 4}, "node-b"); err != nil {
		t.Fatal(err)
	}
	errs := outcome(1, mustFlush(t, s, []op{ev("m1", 1, 4)}))
	if !errors.Is(errs[0], store.ErrFenced) {
		t.Fatalf("the old epoch after the claim: %v, want ErrFenced", errs[0])
	}
	var claims int64
	if err := s.pool.QueryRow(ctx, `SELECT claims FROM fence_claims WHERE node_id = 'node-a'`).Scan(&claims); err != nil || claims != 1 {
		t.Fatalf("claims of node-a: %d %v, want 1", claims, err)
	}
}
