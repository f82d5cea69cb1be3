package sqlite

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestCheckpointPassesLeaveTheCatchUpLittle runs the checkpointer's passes
// on a real WAL with the writer's page count scripted: the frames appended
// while each pass ran. A pass that copied every frame it saw but during
// which many were appended is followed by another while the passes gain;
// the writer is then handed the catch-up, after the database file was
// synced if they copied enough frames to be worth it.
func TestCheckpointPassesLeaveTheCatchUpLittle(t *testing.T) {
	tests := []struct {
		name       string
		appended   []uint64 // frames appended during each pass
		syncFrom   uint64   // the WAL holds about 50
		wantPasses uint64
		wantSync   bool
	}{
		{"nothing appended", []uint64{0}, 1, 1, true},
		{"few appended", []uint64{catchUpFrames}, 1, 1, true},
		{"many, then few", []uint64{catchUpFrames + 1, 10}, 1, 2, true},
		{"shrinking to few", []uint64{4000, 300, 100, 5}, 1, 4, true},
		{"shrinking, never few", []uint64{40000, 10000, 2000, 500, 100}, 1, maxPasses, true},
		{"not shrinking", []uint64{500, 400, 10}, 1, 2, true},
		{"too few copied for a sync", []uint64{0}, syncFrames, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Checkpoints only when the test asks: the writer never requests one.
			s, err := Open(context.Background(), freshDir(t), Options{CheckpointPages: 1 << 30})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(context.Background())
			for i := range 50 {
				if err := s.AppendEvent(context.Background(), ev("s", int64(i), `{"text":"x"}`)).Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			// The writer held in a batch: the catch-up the passes hand
			// over stays for this test to take.
			release := hold(t, s)
			defer release()
			c := s.ckpt
			var count uint64
			calls := 0
			c.appended = func() uint64 {
				// Called before and after each pass: the second call of
				// pass i adds its frames.
				if calls%2 == 1 && calls/2 < len(tt.appended) {
					count += tt.appended[calls/2]
				}
				calls++
				return count
			}
			c.syncFrom = tt.syncFrom
			var synced []uint64 // the passes run when the file was synced
			c.syncDB = func() error {
				synced = append(synced, c.runs.Load())
				return nil
			}
			runs := c.runs.Load()
			c.passes()
			if got := c.runs.Load() - runs; got != tt.wantPasses {
				t.Errorf("passes: %d, want %d", got, tt.wantPasses)
			}
			if !c.takeCatchUp() {
				t.Error("no catch-up handed to the writer")
			}
			switch {
			case tt.wantSync && (len(synced) != 1 || synced[0] != runs+tt.wantPasses):
				t.Errorf("database file synced after passes %v, want once, after the last (%d)", synced, runs+tt.wantPasses)
			case !tt.wantSync && len(synced) != 0:
				t.Errorf("database file synced after passes %v, want no sync", synced)
			}
		})
	}
}

// TestCheckpointSyncFailureStillHandsTheCatchUp checks that a failed sync of
// the database file before a catch-up is counted and does not hold the
// catch-up back: the catch-up's own sync covers the same pages.
func TestCheckpointSyncFailureStillHandsTheCatchUp(t *testing.T) {
	s, err := Open(context.Background(), freshDir(t), Options{CheckpointPages: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if err := s.AppendEvent(context.Background(), ev("s", 0, `{"text":"x"}`)).Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	release := hold(t, s)
	defer release()
	c := s.ckpt
	c.syncFrom = 1
	c.syncDB = func() error { return fmt.Errorf("sync: %w", errors.ErrUnsupported) }
	c.passes()
	if !c.takeCatchUp() {
		t.Error("no catch-up handed to the writer after a failed sync")
	}
	if st, err := s.WriterStats(context.Background()); err != nil || st.CheckpointSyncFailures != 1 {
		t.Errorf("failed syncs in the writer's stats: %+v (%v), want 1", st.CheckpointSyncFailures, err)
	}
}
