package history_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/history"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/postgres"
	"github.com/confab/confab/internal/store/postgres/pgtest"
	"github.com/confab/confab/internal/store/sqlite"
)

// BenchmarkCloseFinal measures a session's close with its final transcript
// encoded from memory (today's path) and composed from the stored events
// (Options.FinalFromStore), on SQLite and PostgreSQL: a dense-like session
// (a customer and an agent, 12 messages of 45 bytes, auto-save 1) is built
// untimed, then its close is timed from Leave to its durable receipt (the
// final record committed). It reports the process's CPU per close
// (cpu-us/close: user and system, the engine, the journal and the store's
// writer included) and, on PostgreSQL, the CPU of the store's backends
// (backend-us/close, from /proc/<pid>/schedstat; the server is on this
// machine).
func BenchmarkCloseFinal(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		for _, fromStore := range []bool{false, true} {
			name := kind + map[bool]string{false: "/memory", true: "/from-store"}[fromStore]
			b.Run(name, func(b *testing.B) { benchCloseFinal(b, kind, fromStore) })
		}
	}
}

func benchCloseFinal(b *testing.B, kind string, fromStore bool) {
	ctx := context.Background()
	var st store.Store
	var backends func() time.Duration
	switch kind {
	case "sqlite":
		s, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		st = s
	case "postgres":
		if os.Getenv(pgtest.EnvDSN) == "" {
			b.Skip("no PostgreSQL")
		}
		dsn, schema := pgtest.Schema(b)
		app := "closefinal-" + schema
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		s, err := postgres.Open(ctx, dsn+sep+"application_name="+app, postgres.Options{Schema: schema, MaxConns: 4})
		if err != nil {
			b.Fatal(err)
		}
		st = s
		backends = func() time.Duration { return backendCPU(b, dsn, app) }
	}
	defer st.Close(ctx)
	fk := clock.NewFake(time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC))
	j := history.New(history.Options{Store: st, AutoSave: func() int { return 1 }, FinalFromStore: fromStore, Clock: fk})
	defer j.Close(ctx)
	e := chat.New(chat.Options{Clock: fk, Journal: j})
	var cpu, be time.Duration
	for b.Loop() {
		b.StopTimer()
		s, c, _, err := e.Create(chat.CreateRequest{Subject: "bench", Creator: chat.JoinRequest{Nick: "Customer", Type: chat.Client}})
		if err != nil {
			b.Fatal(err)
		}
		a, _, err := s.Join(chat.JoinRequest{Nick: "Agent", Type: chat.Agent, PersonID: "agent"})
		if err != nil {
			b.Fatal(err)
		}
		var rc chat.Receipt
		for i := range 12 {
			from := c.UserID
			if i%2 == 1 {
				from = a.UserID
			}
			fk.Advance(2500 * time.Millisecond)
			if rc, err = s.Send(from, chat.Msg{Text: "Hello, I have a question about my last order.", Type: "text"}); err != nil {
				b.Fatal(err)
			}
		}
		if err := rc.Wait(ctx); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.Leave(chat.LeaveRequest{UserID: a.UserID}); err != nil {
			b.Fatal(err)
		}
		var b0 time.Duration
		if backends != nil {
			b0 = backends()
		}
		c0 := processCPU()
		b.StartTimer()
		rc, _, err = s.Leave(chat.LeaveRequest{UserID: c.UserID})
		if err != nil {
			b.Fatal(err)
		}
		if err := rc.Wait(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += processCPU() - c0
		if backends != nil {
			be += backends() - b0
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/close")
	if backends != nil {
		b.ReportMetric(float64(be.Microseconds())/float64(b.N), "backend-us/close")
	}
}

// backendCPU sums the CPU time of the PostgreSQL backends whose
// application_name is app (the store's connections), from
// /proc/<pid>/schedstat: nanoseconds on a CPU (a backend is one thread),
// not /proc/<pid>/stat's 10 ms ticks, which against a close of about 1 ms
// of backend CPU made each close's figure 0 or 10 ms.
func backendCPU(b *testing.B, dsn, app string) time.Duration {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1", app)
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	var ns int64
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
		if err != nil {
			continue // a backend that just exited
		}
		f := strings.Fields(string(raw))
		if len(f) == 0 {
			continue
		}
		v, _ := strconv.ParseInt(f[0], 10, 64) // time on a CPU, in nanoseconds
		ns += v
	}
	return time.Duration(ns)
}
