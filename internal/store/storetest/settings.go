package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/confab/confab/internal/store"
)

// testInsertSetting: InsertSetting stores a value only when the key has
// none, and of many callers racing on one key every one gets back the one
// value that was stored (what a put-then-read-back cannot promise).
func testInsertSetting(t *testing.T, s store.Store) {
	ctx := context.Background()
	v, err := s.InsertSetting(ctx, "k1", "first")
	must(t, "InsertSetting new", err)
	if v != "first" {
		t.Fatalf("InsertSetting new = %q, want first", v)
	}
	v, err = s.InsertSetting(ctx, "k1", "second")
	must(t, "InsertSetting existing", err)
	if v != "first" {
		t.Fatalf("InsertSetting existing = %q, want the stored first", v)
	}
	if got, err := s.GetSetting(ctx, "k1"); err != nil || got != "first" {
		t.Fatalf("GetSetting after InsertSetting = %q, %v; want first", got, err)
	}
	_, err = s.InsertSetting(ctx, "", "x")
	wantErr(t, "InsertSetting empty key", err, store.ErrInvalid)

	const n = 16
	for round := range 3 {
		key := fmt.Sprintf("race-%d", round)
		var wg sync.WaitGroup
		got := make([]string, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				got[i], errs[i] = s.InsertSetting(ctx, key, fmt.Sprintf("v%d", i))
			}()
		}
		close(start)
		wg.Wait()
		stored, err := s.GetSetting(ctx, key)
		must(t, "GetSetting after the race", err)
		for i := range n {
			must(t, "InsertSetting racing", errs[i])
			if got[i] != stored {
				t.Fatalf("round %d: caller %d got %q, the key holds %q", round, i, got[i], stored)
			}
		}
	}
}
