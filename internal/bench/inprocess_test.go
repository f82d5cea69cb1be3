package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/server"
)

// TestInProcess runs `confab bench` with the arguments in
// $CONFAB_BENCH_INPROC against a server started in this process
// (server.New + Start, driven over 127.0.0.1 sockets as usual), so that
//
//	CONFAB_BENCH_INPROC="throughput --sessions 50 --duration 20s" \
//	  go test -run TestInProcess -cpuprofile cpu.out ./internal/bench
//
// yields a CPU profile of the server (and of the generator: tell them apart
// by package) while `confab serve` has no profiling endpoint. It is skipped
// unless the variable is set.
func TestInProcess(t *testing.T) {
	args := os.Getenv("CONFAB_BENCH_INPROC")
	if args == "" {
		t.Skip("set CONFAB_BENCH_INPROC to profile a run with an in-process server")
	}
	ctx := context.Background()
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	tokens, err := createAgents(ctx, confabBinary(t), dataDir, 250)
	if err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(dir, "agents.txt")
	if err := os.WriteFile(tokFile, []byte(strings.Join(tokens, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	adminTok, espTok := randomToken(), randomToken()
	cfgPath := filepath.Join(dir, "confab.ini")
	if err := os.WriteFile(cfgPath, []byte(benchConfig(adminTok, espTok, os.Getenv("CONFAB_BENCH_AUTOSAVE"), "")), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, server.Options{Config: cfg, DataDir: dataDir, Listen: "127.0.0.1:0",
		Out: io.Discard, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	target := fmt.Sprintf("webapi=http://%s,agent=http://%s,esp=http://%s,health=http://%s",
		srv.Addr("webapi"), srv.Addr("agent"), srv.Addr("esp"), srv.Addr("health"))
	full := append(strings.Fields(args), "--target", target, "--admin-token", adminTok, "--esp-token", espTok,
		"--agent-tokens", tokFile)
	if err := Command(ctx, full, "", os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
}
