package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

// BenchmarkCloseBurst measures what sessions closing together cost the
// writer (the store timeline's worst seconds in dense: batches of
// 100–500 ms when hundreds of sessions close at once). Each iteration
// opens 200 sessions with 40 events each, holds the writer, queues their
// 200 closes (final transcripts of 40 events encoded with encoding/json,
// as the history's WriteFinal does), releases the writer and waits until
// every close is durable. It reports the time from the release to the
// last close (the writer's part: every other write waits behind it).
func BenchmarkCloseBurst(b *testing.B) {
	const sessions, events = 200, 40
	s, err := Open(context.Background(), b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(context.Background())
	ctx := context.Background()
	type event struct {
		Kind string `json:"kind"`
		From string `json:"from"`
		At   int64  `json:"at"`
		Text string `json:"text"`
	}
	transcript := func(id string) store.JSONWriter {
		return store.JSONWriter{Size: events * 160, Write: func(w io.Writer) error {
			enc := json.NewEncoder(w)
			io.WriteString(w, `{"sessionId":"`+id+`","events":[`)
			for i := range events {
				if i > 0 {
					io.WriteString(w, ",")
				}
				if err := enc.Encode(event{"message", "customer", int64(i), strings.Repeat("hello ", 15)}); err != nil {
					return err
				}
			}
			_, err := io.WriteString(w, "]}")
			return err
		}}
	}
	var total time.Duration
	for it := range b.N {
		b.StopTimer()
		ids := make([]string, sessions)
		var tks []store.Ticket
		for i := range ids {
			ids[i] = fmt.Sprintf("close-%d-%d", it, i)
			if err := s.CreateInteraction(ctx, store.Interaction{ID: ids[i], SessionID: ids[i], Queue: "q"}); err != nil {
				b.Fatal(err)
			}
			for p := range int64(events) {
				tks = append(tks, s.AppendEvent(ctx, ev(ids[i], p, `{"text":"`+strings.Repeat("hello ", 15)+`"}`)))
			}
		}
		for _, tk := range tks {
			if err := tk.Wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
		release := hold(b, s)
		errs := make(chan error, sessions)
		for _, id := range ids { // one by one, each queued before the next
			before := s.gc.Stats().Pending
			go func() {
				errs <- s.CloseInteraction(ctx, id, time.Unix(1_700_000_000, 0), transcript(id), json.RawMessage(`{}`), nil)
			}()
			for s.gc.Stats().Pending == before {
				runtime.Gosched()
			}
		}
		b.StartTimer()
		began := time.Now()
		release()
		for range ids {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		total += time.Since(began)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "writer-ms/burst")
}
