package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPollSchedulerRunsEachJobUntilDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newPollScheduler(ctx, 5*time.Millisecond, 4)
	const jobs, runs = 50, 3
	var wg sync.WaitGroup
	var total atomic.Int64
	counts := make([]atomic.Int32, jobs)
	for i := 0; i < jobs; i++ {
		wg.Add(1)
		s.add(time.Duration(i)*time.Millisecond, func(context.Context) bool {
			total.Add(1)
			if counts[i].Add(1) == runs {
				wg.Done()
				return false
			}
			return true
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("only %d of %d runs happened", total.Load(), jobs*runs)
	}
	time.Sleep(20 * time.Millisecond) // a job that said "no more" must not run again
	if total.Load() != jobs*runs {
		t.Fatalf("%d runs, want %d", total.Load(), jobs*runs)
	}
	cancel()
	s.wait()
}
