package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/leakcheck"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/postgres"
	"github.com/confab/confab/internal/store/postgres/pgtest"
	"github.com/confab/confab/internal/store/storetest"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func open(t *testing.T) *postgres.Store {
	t.Helper()
	dsn, schema := pgtest.Schema(t)
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestConformance runs the store conformance suite against PostgreSQL.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

// TestMigrationsOnceForManyNodes opens the same schema from several stores
// at once (nodes starting together): every one must open, the schema is
// migrated once, and they see each other's writes.
func TestMigrationsOnceForManyNodes(t *testing.T) {
	dsn, schema := pgtest.Schema(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const nodes = 4
	stores := make([]*postgres.Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(ctx, dsn, postgres.Options{Schema: schema, MaxConns: 2})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer stores[i].Close(ctx)
	}
	var n int
	files, _ := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err := stores[0].Pool().QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(files) || n == 0 {
		t.Fatalf("schema_migrations has %d rows (%v), want %d, one per migration", n, err, len(files))
	}
	if err := stores[1].CreateInteraction(ctx, store.Interaction{ID: "x", SessionID: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[3].GetInteraction(ctx, "x"); err != nil {
		t.Fatalf("another node does not see the record: %v", err)
	}
}

// TestConcurrentContactsAcrossNodes identifies the same new customer from
// several stores (nodes) at once: one contact is created.
func TestConcurrentContactsAcrossNodes(t *testing.T) {
	dsn, schema := pgtest.Schema(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stores []*postgres.Store
	for range 3 {
		s, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema, MaxConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(ctx)
		stores = append(stores, s)
	}
	ids := make(chan string, 30)
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, _, err := stores[i%3].IdentifyContact(ctx, map[string]string{"EmailAddress": "same@example.com"}, []string{"EmailAddress"}, true)
			if err != nil {
				t.Error(err)
			}
			ids <- id
		}()
	}
	wg.Wait()
	close(ids)
	first := ""
	for id := range ids {
		if first == "" {
			first = id
		}
		if id != first || id == "" {
			t.Fatalf("contacts %q and %q for one customer", first, id)
		}
	}
}

// TestGroupCommitBatches checks that concurrent appends share
// transactions (the group commit works on PostgreSQL too) and all land.
func TestGroupCommitBatches(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	const sessions, per = 50, 20
	var tickets []store.Ticket
	for p := range per {
		for i := range sessions {
			tickets = append(tickets, s.AppendEvent(ctx, store.EventRow{SessionID: fmt.Sprint("s", i), Position: int64(p),
				EventID: int64(p + 1), Time: time.UnixMicro(int64(p)), Data: []byte(fmt.Sprintf(`{"p":%d}`, p))}))
		}
	}
	for _, tk := range tickets {
		if err := tk.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.Writes != sessions*per || st.Batches >= uint64(sessions*per) {
		t.Fatalf("stats %+v: want %d writes in fewer batches", st, sessions*per)
	}
	evs, err := s.LoadEvents(ctx, "s7")
	if err != nil || len(evs) != per || !bytes.Equal(evs[per-1].Data, []byte(fmt.Sprintf(`{"p":%d}`, per-1))) {
		t.Fatalf("s7: %d events, %v", len(evs), err)
	}
}
