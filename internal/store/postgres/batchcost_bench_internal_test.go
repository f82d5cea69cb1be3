package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
)

// BenchmarkEventBatch splits the PostgreSQL backend's CPU per event into
// its part per batch (the commit, the statement) and its part per row,
// with batches of the shape a throughput run with 200 sessions sends at
// full speed: events of about 320 bytes with 16-character session ids,
// drawn at random from 200 sessions, written directly by the writer's
// flush (one pipelined round trip per batch). "fenced": every session has
// an owner row and its events carry its epoch, as on a node (the statement
// then reads the owner rows FOR SHARE); "unfenced": epoch 0 (no owner
// read). "fenced/commit-unflushed" is a measurement only: the same with
// synchronous_commit off on the benchmark's connection, so that the
// difference is the CPU the commit's WAL flush (write and fdatasync) costs
// the backend; the store never runs so. b.N is the number of events.
//
//	CONFAB_TEST_POSTGRES_DSN=... go test -run XXX -bench BenchmarkEventBatch -benchtime 20000x ./internal/store/postgres/
func BenchmarkEventBatch(b *testing.B) {
	const sessions = 200
	for _, c := range []struct {
		name      string
		epoch     int64
		unflushed bool
		noCopy    bool
	}{{"fenced", 1, false, false}, {"unfenced", 0, false, false}, {"fenced/commit-unflushed", 1, true, false},
		{"pipelined-fenced", 1, false, true}, {"pipelined-unfenced", 0, false, true}} {
		for _, size := range []int{10, 35, 70, 140, 280} {
			b.Run(fmt.Sprintf("%s/batch=%d", c.name, size), func(b *testing.B) {
				s := openInternal(b, 1) // one connection: the writer's backend is known
				s.w.noCopy = c.noCopy
				ctx := context.Background()
				ids := make([]string, sessions)
				for i := range ids {
					ids[i] = fmt.Sprintf("%016x", rand.Uint64())
					if c.epoch != 0 {
						if _, err := s.pool.Exec(ctx, `INSERT INTO session_owners (session_id, node_id, epoch) VALUES ($1, 'bench-node', $2)`, ids[i], c.epoch); err != nil {
							b.Fatal(err)
						}
					}
				}
				if c.unflushed {
					if _, err := s.pool.Exec(ctx, `SET synchronous_commit = off`); err != nil {
						b.Fatal(err)
					}
				}
				var pid int
				if err := s.pool.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
					b.Fatal(err)
				}
				next := make([]int64, sessions)
				mk := func(i int) op {
					p := next[i]
					next[i]++
					data := fmt.Sprintf(`{"pos":%d,"eventId":%d,"kind":"message","utcTime":1796155720804,"userId":"1A5BDD708C3508BB","participantId":1,"userNick":"customer-178","userType":"CLIENT","visibility":"ALL","text":"cfb:326:38:_5323413574 Hello, I have a question about my last order and the delivery date.","msgType":"text","clientMessageId":"m-%d"}`, p, p+1, p)
					return op{ev: store.EventRow{SessionID: ids[i], Position: p, EventID: p + 1,
						Time: time.UnixMicro(1_796_155_720_804_000 + p), Data: []byte(data), Epoch: c.epoch}}
				}
				batches := max(1, b.N/size)
				pending := make([][]op, batches)
				for k := range pending {
					pending[k] = make([]op, size)
					for j := range pending[k] {
						pending[k][j] = mk(rand.IntN(sessions))
					}
				}
				// The first batch of each session reads its owner row (it is
				// trusted from then on: fencetrust.go), as a node's first
				// batches do; the measured batches are those after.
				warm := make([]op, sessions)
				for i := range warm {
					warm[i] = mk(i)
				}
				if failed, err := s.w.flush(warm); err != nil || len(failed) > 0 {
					b.Fatalf("flush: %v %v", err, failed)
				}
				pg0, self0 := procCPU(b, strconv.Itoa(pid)), procCPU(b, "self")
				copied0 := s.w.nCopied.Load()
				b.ResetTimer()
				for _, batch := range pending {
					failed, err := s.w.flush(batch)
					if err != nil || len(failed) > 0 {
						b.Fatalf("flush: %v %v", err, failed)
					}
				}
				b.StopTimer()
				events := float64(batches * size)
				pg := (procCPU(b, strconv.Itoa(pid)) - pg0).Seconds() * 1e6
				b.ReportMetric(pg/events, "pg-cpu-µs/event")
				b.ReportMetric(pg/float64(batches), "pg-cpu-µs/batch")
				b.ReportMetric((procCPU(b, "self")-self0).Seconds()*1e6/events, "go-cpu-µs/event")
				b.ReportMetric(float64(s.w.nCopied.Load()-copied0)/float64(batches), "copied/batch")
			})
		}
	}
}
