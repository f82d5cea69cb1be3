package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/postgres/pgtest"
)

// TestPausedTransactionDoesNotBlockAClaim leaves a transaction of the
// store's own pool idle while it holds the fence lock of a session's owner
// (fencelock.go) and has read its owner row — what a writer paused
// mid-batch (SIGSTOP) leaves behind — and checks that
// another node's claim of the session still goes through: the server ends
// the idle transaction after idle_in_transaction_session_timeout (its own
// timer, so this test waits for it in real time, a few seconds), and the
// paused writer's transaction is rolled back.
func TestPausedTransactionDoesNotBlockAClaim(t *testing.T) {
	dsn, schema := pgtest.Schema(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, dsn, Options{Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	var setting string
	if err := s.pool.QueryRow(ctx, "SHOW "+idleTxParam).Scan(&setting); err != nil || setting != "5s" {
		t.Fatalf("%s on the store's connections: %q, %v; want 5s", idleTxParam, setting, err)
	}
	if err := s.OwnNew(ctx, "p1", "a").Wait(ctx); err != nil {
		t.Fatal(err)
	}
	paused, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer paused.Rollback(context.Background())
	var epoch int64
	if _, err := paused.Exec(ctx, lockOwners, []string{"p1"}, []string(nil)); err != nil {
		t.Fatal(err)
	}
	if err := paused.QueryRow(ctx, `SELECT epoch FROM session_owners WHERE session_id = 'p1'`).Scan(&epoch); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	to, err := s.Claim(ctx, store.Owner{SessionID: "p1", NodeID: "a", Epoch: 1}, "b")
	if err != nil || to.Epoch != 2 {
		t.Fatalf("claim behind a paused transaction: %+v, %v", to, err)
	}
	if waited := time.Since(began); waited > 20*time.Second {
		t.Fatalf("the claim waited %v", waited)
	}
	if _, err := paused.Exec(ctx, `SELECT 1`); err == nil {
		t.Fatal("the paused transaction outlived the server's timeout")
	}
}
