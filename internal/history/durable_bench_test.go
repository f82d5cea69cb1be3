package history_test

import (
	"context"
	"fmt"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/history"
	"github.com/confab/confab/internal/store/sqlite"
)

// BenchmarkDurableSend measures the CPU a message costs on the durable
// path above and in the store, without HTTP: 100 sessions on a real SQLite
// store (synchronous=FULL) through the history journal (three resend
// attempts, the server's default), each with a customer sending messages
// one after the other, each send waiting for its receipt as the send
// handler does, and two readers (the customer and an agent) waiting on the
// session's changes and reading what became visible, as the push
// connections do. b.N is the number of messages. With auto-save=0 the
// journal stores nothing per message: the difference is the durable-only
// cost (issue 17). It reports the process's CPU time (user+system) per
// message, the goroutines created per message and the readers' wake-ups
// per message (each reader's trips through the wait, summed over both).
func BenchmarkDurableSend(b *testing.B) {
	for _, autoSave := range []int{1, 0} {
		b.Run(fmt.Sprintf("auto-save=%d", autoSave), func(b *testing.B) {
			benchDurableSend(b, autoSave, 100)
		})
	}
}

func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchDurableSend(b *testing.B, autoSave, sessions int) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	j := history.New(history.Options{Store: st, AutoSave: func() int { return autoSave },
		Resend: func() history.Resend { return history.Resend{Attempts: 3, Delay: time.Second} }})
	e := chat.New(chat.Options{Clock: clock.Real(), Journal: j})
	type party struct {
		s      *chat.Session
		sender string
		ids    [2]string
	}
	ps := make([]party, sessions)
	for i := range ps {
		s, c, rc, err := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
		if err != nil {
			b.Fatal(err)
		}
		a, rc2, err := s.Join(chat.JoinRequest{Nick: "a", Type: chat.Agent, Protocol: chat.Basic})
		if err != nil {
			b.Fatal(err)
		}
		if err := rc.Wait(ctx); err != nil {
			b.Fatal(err)
		}
		if err := rc2.Wait(ctx); err != nil {
			b.Fatal(err)
		}
		ps[i] = party{s: s, sender: c.UserID, ids: [2]string{c.UserID, a.UserID}}
	}
	var wg sync.WaitGroup
	var wakes atomic.Int64
	created0 := goroutinesCreated()
	cpu0 := processCPU()
	b.ResetTimer()
	for i, p := range ps {
		n := b.N / sessions
		if i < b.N%sessions {
			n++
		}
		for _, id := range p.ids {
			wg.Go(func() { // a reader: wait for changes, read what is visible
				var buf []chat.Event
				pos, seen := 0, 0
				for seen < n {
					evs, next, _, ch, err := p.s.ReadNChanged(id, pos, 0, buf[:0])
					if err != nil {
						b.Error(err)
						return
					}
					for _, ev := range evs {
						if ev.Kind == chat.Message {
							seen++
						}
					}
					pos, buf = next, evs
					if seen < n {
						<-ch
						wakes.Add(1)
					}
				}
			})
		}
		wg.Go(func() { // the sender: one message at a time, acknowledged once durable
			for k := range n {
				rc, err := p.s.Send(p.sender, chat.Msg{Text: fmt.Sprintf("message %d of the benchmark, about as long as a chat line", k)})
				if err == nil {
					err = rc.Wait(ctx)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
	// Less the benchmark's own goroutines (three per session).
	b.ReportMetric(float64(goroutinesCreated()-created0-uint64(3*sessions))/float64(b.N), "goroutines/msg")
	b.ReportMetric(float64(wakes.Load())/float64(b.N), "reader-wakes/msg")
	if err := j.Close(ctx); err != nil {
		b.Error(err)
	}
	if err := st.Close(ctx); err != nil {
		b.Error(err)
	}
}
