package runq

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPoolRunsEachOnceWithinMax: every pushed item runs once, on at most
// max runners at a time, and the runners end once the last user released
// the pool.
func TestPoolRunsEachOnceWithinMax(t *testing.T) {
	const n, runners = 2000, 3
	var (
		ran     [n]atomic.Int32
		busy    atomic.Int32
		mostBus atomic.Int32
		wg      sync.WaitGroup
	)
	p := New(runners, func(i int) {
		b := busy.Add(1)
		for {
			m := mostBus.Load()
			if b <= m || mostBus.CompareAndSwap(m, b) {
				break
			}
		}
		ran[i].Add(1)
		busy.Add(-1)
		wg.Done()
	})
	p.Acquire()
	wg.Add(n)
	var pushers sync.WaitGroup
	for g := range 4 {
		pushers.Add(1)
		go func() {
			defer pushers.Done()
			for i := g; i < n; i += 4 {
				p.Push(i)
			}
		}()
	}
	pushers.Wait()
	wg.Wait()
	for i := range ran {
		if got := ran[i].Load(); got != 1 {
			t.Fatalf("item %d ran %d times", i, got)
		}
	}
	if m := mostBus.Load(); m > runners {
		t.Fatalf("%d items ran at once, more than the %d runners", m, runners)
	}
	if r, _ := p.Counts(); r > runners {
		t.Fatalf("%d runners, more than %d", r, runners)
	}
	p.Release()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, q := p.Counts()
		if r == 0 && q == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runners, %d queued after the last release", r, q)
		}
		time.Sleep(time.Millisecond)
	}
}
