package server

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestCloseReserve(t *testing.T) {
	for _, tc := range []struct{ left, want time.Duration }{
		{9 * time.Second, 3 * time.Second},
		{30 * time.Second, 3 * time.Second},
		{6 * time.Second, 2 * time.Second},
		{300 * time.Millisecond, 100 * time.Millisecond},
		{0, 0},
	} {
		if got := closeReserve(tc.left); got != tc.want {
			t.Errorf("closeReserve(%v) = %v, want %v", tc.left, got, tc.want)
		}
	}
}

// TestShutdownHookContext: an adapter's shutdown hook, whether a listener's
// shutdown or the final close calls it first, runs once with the
// shutdown's context, ending closeReserve before it, so that a hook that
// cannot finish leaves the journal and the store their time.
func TestShutdownHookContext(t *testing.T) {
	var (
		mu    sync.Mutex
		calls int
		got   context.Context
	)
	ran := make(chan struct{})
	p := &parts{}
	p.add("agent", nil, func(ctx context.Context) {
		mu.Lock()
		calls++
		got = ctx
		mu.Unlock()
		close(ran)
	})
	srv := &http.Server{}
	p.onShutdown(srv)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	overall, _ := ctx.Deadline()
	endHooks := p.beginShutdown(ctx)
	defer endHooks()
	if err := srv.Shutdown(ctx); err != nil { // calls the hook on a goroutine of its own
		t.Fatalf("http shutdown: %v", err)
	}
	<-ran
	if err := p.close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Fatalf("hook ran %d times, want once", calls)
	}
	dl, ok := got.Deadline()
	if !ok {
		t.Fatal("the hook's context has no deadline: a hook that never finishes holds the shutdown past its time")
	}
	if kept := overall.Sub(dl); kept != 3*time.Second {
		t.Errorf("the hook's context ends %v before the shutdown's, want the reserve of 3s", kept)
	}
	if got.Err() != nil {
		t.Errorf("the hook's context ended early: %v", got.Err())
	}
}

// TestShutdownHookContextWithoutBegin: a listener shut down outside
// Server.Shutdown still runs its hooks, without a deadline of its own.
func TestShutdownHookContextWithoutBegin(t *testing.T) {
	p := &parts{}
	if ctx := p.hookContext(context.Background()); ctx != context.Background() {
		t.Errorf("hook context before beginShutdown = %v, want the fallback", ctx)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if got := p.hookContext(ctx); got != ctx {
		t.Errorf("hook context before beginShutdown = %v, want the given fallback", got)
	}
}
