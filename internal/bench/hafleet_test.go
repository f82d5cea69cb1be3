package bench

import (
	"context"
	"testing"
	"time"
)

// TestStartFleetFailsCleanly: a fleet that cannot start (here: no
// PostgreSQL listens at the DSN, so its schema cannot be made) returns the
// error and no fleet, and cleans up after itself without a panic (the
// cleanup once ran on the nil fleet the failing return had set).
func TestStartFleetFailsCleanly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f, err := StartFleet(ctx, FleetOptions{Exe: "confab", DSN: "postgres://confab@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5",
		Nodes: 1, Dir: t.TempDir()})
	if err == nil {
		f.Close()
		t.Fatal("a fleet started with no PostgreSQL at its DSN")
	}
	if f != nil {
		t.Errorf("a failed StartFleet returned a fleet: %+v", f)
	}
}
