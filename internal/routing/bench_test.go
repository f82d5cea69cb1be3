package routing_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

// BenchmarkRoutingDecision measures one routing decision with a full
// node: agents logged in with capacity 1, each holding an open offer, and
// interactions queued behind them. One iteration is the session of one
// offered interaction ending (its agent is free: routing offers it the
// oldest waiting interaction) and one new interaction arriving at the
// back of the queue, so the sizes stay constant. Every structure a
// decision touches (the waiting line, the available agents) is a heap, so
// the cost grows with the log of the sizes.
func BenchmarkRoutingDecision(b *testing.B) {
	for _, size := range []struct{ agents, queued int }{{200, 2000}, {2000, 20000}} {
		b.Run(fmt.Sprintf("agents=%d/queued=%d", size.agents, size.queued), func(b *testing.B) {
			benchDecision(b, size.agents, size.queued)
		})
	}
}

func benchDecision(b *testing.B, agents, queued int) {
	r := routing.New(routing.Options{Clock: clock.Real(), OfferTimeout: func() time.Duration { return time.Hour }})
	var mu sync.Mutex
	offered := make([]string, agents) // the open offer of each desk
	desks := make([]*routing.Desk, agents)
	for i := range desks {
		i := i
		d, err := r.Login(routing.Account{ID: fmt.Sprintf("agent-%05d", i), Type: store.UserAgent, Queues: []string{"q"}, Capacity: 1},
			func(n routing.Notice) {
				if n.Type == routing.NoticeOffer {
					mu.Lock()
					offered[i] = n.InteractionID
					mu.Unlock()
				}
			})
		if err != nil {
			b.Fatal(err)
		}
		if err := d.SetState(routing.StateReady, ""); err != nil {
			b.Fatal(err)
		}
		desks[i] = d
	}
	start := time.Now()
	for i := range agents + queued {
		r.SessionCreated(&chat.Info{ID: fmt.Sprintf("ixn-%06d", i), Queue: "q", CreatedAt: start.Add(time.Duration(i))})
	}
	q := r.Queues()
	if len(q) != 1 || q[0].Offered != agents || q[0].Waiting != queued {
		b.Fatalf("set-up: %+v", q)
	}
	b.ResetTimer()
	n, next := 0, agents+queued
	for b.Loop() {
		k := n % agents
		n++
		mu.Lock()
		id := offered[k]
		mu.Unlock()
		r.SessionClosed(&chat.Final{Info: chat.Info{ID: id, Queue: "q", ClosedAt: start}})
		mu.Lock()
		got := offered[k]
		mu.Unlock()
		if got == id {
			b.Fatalf("agent %d was not offered the next interaction", k)
		}
		r.SessionCreated(&chat.Info{ID: fmt.Sprintf("ixn-%06d", next), Queue: "q", CreatedAt: start.Add(time.Duration(next))})
		next++
	}
	b.StopTimer()
	if q := r.Queues(); q[0].Offered != agents || q[0].Waiting != queued {
		b.Fatalf("after the run: %+v", q)
	}
	for _, d := range desks {
		d.Logout()
	}
}
