package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/internal/bench"
	"github.com/confab/confab/internal/store/postgres/pgtest"
)

// scaleChats is the size of the full-size cluster test: 300 (the issue's
// verification) unless CONFAB_HA_CHATS says otherwise.
func scaleChats(t *testing.T) int {
	if v := os.Getenv("CONFAB_HA_CHATS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 3 {
			t.Fatalf("CONFAB_HA_CHATS=%q: want a number ≥ 3", v)
		}
		return n
	}
	return 300
}

// ownerWatch samples the owners table while a test runs and remembers, for
// every session, which node held which epoch: a session whose epoch went
// back, or one epoch held by two nodes, would mean two owners at once.
type ownerWatch struct {
	mu      sync.Mutex                  // guards the following
	held    map[string]map[int64]string // session → epoch → node
	last    map[string]int64
	samples int
	errs    []string
}

func watchOwners(ctx context.Context, t *testing.T, f *bench.Fleet) (*ownerWatch, func()) {
	w := &ownerWatch{held: map[string]map[int64]string{}, last: map[string]int64{}}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			err := f.Query(ctx, `SELECT session_id, node_id, epoch FROM session_owners`, func(r pgx.Rows) error {
				var id, node string
				var epoch int64
				if err := r.Scan(&id, &node, &epoch); err != nil {
					return err
				}
				w.mu.Lock()
				defer w.mu.Unlock()
				if w.held[id] == nil {
					w.held[id] = map[int64]string{}
				}
				if prev, ok := w.held[id][epoch]; ok && prev != node {
					w.errs = append(w.errs, fmt.Sprintf("session %s epoch %d held by %s and by %s", id, epoch, prev, node))
				}
				w.held[id][epoch] = node
				if epoch < w.last[id] {
					w.errs = append(w.errs, fmt.Sprintf("session %s went back from epoch %d to %d", id, w.last[id], epoch))
				}
				w.last[id] = epoch
				return nil
			})
			if err == nil {
				w.mu.Lock()
				w.samples++
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return w, func() { cancel(); <-done }
}

// nodeIDs returns each node's cluster id (its data directory's node.id).
func nodeIDs(t *testing.T, f *bench.Fleet) []string {
	var ids []string
	for _, p := range f.Nodes {
		b, err := os.ReadFile(filepath.Join(p.DataDir, "node.id"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, string(trimNL(b)))
	}
	return ids
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// drainState is GET /api/v1/drain (progress only: it starts nothing).
func drainState(ctx context.Context, p *bench.Process) (live, owned int, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URLs.Agent+"/api/v1/drain", nil)
	req.Header.Set("Authorization", "Bearer "+p.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var out struct{ Live, Owned int }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, 0, fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	return out.Live, out.Owned, nil
}

// TestClusterScaleSIGKILL is the full-size cluster test: 3 nodes on
// one PostgreSQL, 300 chats (CONFAB_HA_CHATS), each with its customer on
// WebSocket push — through its owner for a third of them, forwarded through
// another node for the rest — and an agent on a socket of any node (5 per
// node; two thirds of the chats are relayed to their owner), both sides
// sending every second. Node 0 is killed with SIGKILL mid-stream. Every one
// of its chats must be restored on a survivor and answer again on both
// sides (customers move with client/chatv2's node list and subscribe again
// from their position; agents on the survivors' sockets are told where the
// chat lives and join again as the same party, agents on node 0's sockets
// move with client/agent's node list and do the same), with 0 acknowledged
// messages lost and 0 duplicates, in the transcripts and on the push
// channels; the owners table, sampled every 100 ms, never shows one epoch
// of a session on two nodes or an epoch going back; at the end every
// killed node's chat is at epoch 2 on a survivor, every other at epoch 1
// where it was, and the survivors' engines hold each chat once.
func TestClusterScaleSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real servers")
	}
	chats := scaleChats(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dsn, schema := pgtest.Schema(t)
	exe := buildExe(t)
	begin := time.Now()
	f, err := bench.StartFleet(ctx, bench.FleetOptions{Exe: exe, Nodes: 3, DSN: dsn, Schema: schema, Lease: 2 * time.Second, Agents: 15, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids := nodeIDs(t, f)
	l, err := bench.NewHALoad(ctx, f, bench.HAOptions{Chats: chats, AgentsPerNode: 5, Pace: time.Second, AgentsAnywhere: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Logf("%d chats ready %v after the start", chats, time.Since(begin).Round(time.Millisecond))
	w, stopWatch := watchOwners(ctx, t, f)
	l.Start(ctx)
	for l.Acked() < int64(2*chats) {
		if ctx.Err() != nil {
			t.Fatal("the load never got going")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second) // mid-stream
	before := l.Acked()
	killAt := l.Kill(0)
	if err := l.WaitRecovered(ctx, 2, 90*time.Second); err != nil {
		t.Error(err)
	}
	recovered := time.Since(killAt)
	rep := l.Verify(ctx, 20*time.Second)
	time.Sleep(300 * time.Millisecond) // one more sample of the settled table
	stopWatch()
	t.Logf("%d acknowledged before the kill, %d in all; every chat answered again %v after it; customer back p50 %.0f ms p99 %.0f ms max %.0f ms; agent back p50 %.0f ms p99 %.0f ms max %.0f ms; %d owner samples; whole test body %v",
		before, rep.Acked, recovered.Round(time.Millisecond), rep.Answer.P50, rep.Answer.P99, rep.Answer.Max,
		rep.AgentBack.P50, rep.AgentBack.P99, rep.AgentBack.Max, w.samples, time.Since(begin).Round(time.Millisecond))
	if rep.Affected != chats/3 || rep.NotAnswered != 0 {
		t.Errorf("%d chats of the killed node, %d never answered again; want %d, 0", rep.Affected, rep.NotAnswered, chats/3)
	}
	if rep.Lost != 0 || rep.Duplicates != 0 || rep.PushLost != 0 || rep.PushDuplicates != 0 || len(rep.Problems) != 0 {
		t.Errorf("lost %d, duplicated %d in transcripts; lost %d, duplicated %d on push; problems: %v",
			rep.Lost, rep.Duplicates, rep.PushLost, rep.PushDuplicates, rep.Problems)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.errs) > 0 {
		t.Errorf("two owners at once: %v", w.errs)
	}
	if w.samples < 5 {
		t.Errorf("only %d samples of the owners table", w.samples)
	}
	homes := l.ChatHomes()
	perNode := map[string]int{}
	for id, home := range homes {
		held := w.held[id]
		switch {
		case home == 0 && (held[2] == "" || held[2] == ids[0] || held[1] != ids[0] || len(held) != 2):
			t.Errorf("chat %s of the killed node: owners %v, want %s at epoch 1 then a survivor at 2", id, held, ids[0])
		case home != 0 && (len(held) != 1 || held[1] != ids[home]):
			t.Errorf("chat %s of node %d: owners %v, want %s at epoch 1 only", id, home, held, ids[home])
		}
		perNode[held[w.last[id]]]++
	}
	for i := 1; i < 3; i++ {
		live, owned, err := drainState(ctx, f.Nodes[i])
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if live != owned || owned != perNode[ids[i]] {
			t.Errorf("node %d holds %d live sessions, the store names it owner of %d (%d in the last sample)", i, live, owned, perNode[ids[i]])
		}
	}
}
