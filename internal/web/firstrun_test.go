package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/confab/confab/internal/server"
	"github.com/confab/confab/internal/store/sqlite"
)

// TestFirstRunOnlyOnLoopback builds a node (without opening its listeners)
// on an empty data directory: on a loopback address the first run creates
// the two demo accounts, on every interface it creates none; with
// --no-demo (DemoAccounts false) none either.
func TestFirstRunOnlyOnLoopback(t *testing.T) {
	for _, tt := range []struct {
		listen string
		demo   bool
		want   int
	}{
		{"127.0.0.1:0", true, 2},
		{"[::1]:0", true, 2},
		{"0.0.0.0:0", true, 0},
		{":0", true, 0},
		{"127.0.0.1:0", false, 0},
	} {
		dir := t.TempDir()
		ctx := context.Background()
		srv, err := server.New(ctx, server.Options{DataDir: dir, Listen: tt.listen, DemoAccounts: tt.demo,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: &bytes.Buffer{}})
		if err != nil {
			t.Fatalf("%s: %v", tt.listen, err)
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		srv.Shutdown(sctx)
		cancel()
		st, err := sqlite.Open(ctx, dir, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		agents, err := st.ListAgents(ctx)
		st.Close(ctx)
		if err != nil || len(agents) != tt.want {
			t.Errorf("listen %s, demo %v: %d accounts (%v), want %d", tt.listen, tt.demo, len(agents), err, tt.want)
		}
	}
}
