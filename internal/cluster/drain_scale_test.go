package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/bench"
	"github.com/confab/confab/internal/cluster"
	"github.com/confab/confab/internal/store/postgres/pgtest"
)

// TestClusterDrainIntoTwo drains node 0 of a 3-node cluster holding 100
// live chats: 90 busy ones (customers on push through all three nodes and
// sending every second, agents on node 0's sockets) and 10 idle ones that
// nobody touches during the drain. `confab drain` reports its progress
// until the store names node 0 the owner of none, then the node exits 0 on
// SIGTERM at once. The other two nodes take the chats over eagerly: the
// idle chats move too, though no request asks for them, and every chat
// lands on the survivor whose share it is (both get some). The busy chats
// carry on on both sides (every push socket closed with 4010, whether
// on node 0 or forwarded to it, and subscribed again, agents joined again on the new owner) with nothing acknowledged
// lost or doubled, and the idle chats answer with their whole transcript.
func TestClusterDrainIntoTwo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real servers")
	}
	const busy, idle = 90, 10
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dsn, schema := pgtest.Schema(t)
	exe := buildExe(t)
	f, err := bench.StartFleet(ctx, bench.FleetOptions{Exe: exe, Nodes: 3, DSN: dsn, Schema: schema, Lease: 2 * time.Second, Agents: 15, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids := nodeIDs(t, f)
	l, err := bench.NewHALoad(ctx, f, bench.HAOptions{Chats: busy, AgentsPerNode: 5, Pace: time.Second, SingleHome: true, HomeNode: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cc := chatv2.New(f.ChatURL(0), chatv2.Options{Nodes: f.ChatURLs(1)})
	var quiet []*chatv2.Chat
	for i := range idle {
		c, _, err := cc.RequestChat(ctx, service, chatv2.ChatRequest{Nickname: fmt.Sprint("idle-", i)})
		if err != nil {
			t.Fatal(err)
		}
		if r, err := c.Send(ctx, fmt.Sprint("idle-before-", i), nil); err != nil || r.StatusCode != 0 {
			t.Fatalf("idle chat %d: %+v, %v", i, r, err)
		}
		quiet = append(quiet, c)
	}
	w, stopWatch := watchOwners(ctx, t, f)
	l.Start(ctx)
	for l.Acked() < 2*busy {
		if ctx.Err() != nil {
			t.Fatal("the load never got going")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if live, _, err := drainState(ctx, f.Nodes[0]); err != nil || live != busy+idle {
		t.Fatalf("node 0 holds %d live chats (%v), want %d", live, err, busy+idle)
	}

	start := l.Mark(0)
	out, err := f.Nodes[0].RunCLI(ctx, "drain", "--url", f.Nodes[0].URLs.Agent, "--token", f.Nodes[0].AdminToken, "--wait", "60s", "--every", "200ms")
	took := time.Since(start)
	if err != nil {
		t.Fatalf("confab drain: %v\n%s", err, out)
	}
	t.Logf("confab drain took %v:\n%s", took.Round(time.Millisecond), out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.Contains(lines[0], fmt.Sprintf("%d handed over", busy+idle)) || !strings.Contains(out, "still owned") ||
		lines[len(lines)-1] != "drained: SIGTERM stops it at once" {
		t.Fatalf("confab drain did not report the hand-over and its progress:\n%s", out)
	}
	resp, err := http.Get(f.Nodes[0].URLs.Health + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz of the draining node = %d, want 503", resp.StatusCode)
	}

	// Where every chat went, before anyone asks for the idle ones.
	owner := map[string]string{}
	var reclaimed []string // sessions claimed more than once
	if err := f.Query(ctx, `SELECT session_id, node_id, epoch FROM session_owners`, func(r pgx.Rows) error {
		var id, node string
		var epoch int64
		if err := r.Scan(&id, &node, &epoch); err != nil {
			return err
		}
		if epoch != 2 {
			t.Errorf("session %s at epoch %d on %s after the drain, want 2", id, epoch, node)
			reclaimed = append(reclaimed, id)
		}
		owner[id] = node
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(reclaimed) > 0 {
		t.Logf("the nodes' logs of the sessions claimed more than once, and of their leases:\n%s", claimTrail(f, reclaimed))
	}
	if len(owner) != busy+idle {
		t.Fatalf("%d owner rows after the drain, want %d", len(owner), busy+idle)
	}
	heirs := []string{ids[1], ids[2]}
	slices.Sort(heirs)
	per := map[string]int{}
	for id, node := range owner {
		if want := cluster.ShareOf(id, heirs); node != want {
			t.Errorf("session %s went to %s, want %s (its share)", id, node, want)
		}
		per[node]++
	}
	if per[ids[1]] == 0 || per[ids[2]] == 0 {
		t.Errorf("the chats went %v; want both survivors to take some", per)
	}
	for i, c := range quiet {
		if node := owner[c.ID]; node == ids[0] || node == "" {
			t.Errorf("idle chat %d was not taken over (owner %q)", i, node)
		}
	}

	if err := l.WaitRecovered(ctx, 2, 60*time.Second); err != nil {
		t.Error(err)
	}
	rep := l.Verify(ctx, 20*time.Second)
	stopWatch()
	t.Logf("busy chats answered again after the drain began: customer p50 %.0f ms p99 %.0f ms max %.0f ms; agent p50 %.0f ms p99 %.0f ms max %.0f ms; %d acknowledged",
		rep.Answer.P50, rep.Answer.P99, rep.Answer.Max, rep.AgentBack.P50, rep.AgentBack.P99, rep.AgentBack.Max, rep.Acked)
	if rep.Affected != busy || rep.NotAnswered != 0 || rep.Lost != 0 || rep.Duplicates != 0 || rep.PushLost != 0 || rep.PushDuplicates != 0 || len(rep.Problems) != 0 {
		t.Errorf("after the drain: %d of %d chats never answered; lost %d, duplicated %d in transcripts; lost %d, duplicated %d on push; %v",
			rep.NotAnswered, rep.Affected, rep.Lost, rep.Duplicates, rep.PushLost, rep.PushDuplicates, rep.Problems)
	}
	if moved := l.CloseCodes()[chatv2.CloseMoved]; moved < busy {
		t.Errorf("%d push sockets closed with %d (moved), want one for each of the %d busy chats; closes: %v", moved, chatv2.CloseMoved, busy, l.CloseCodes())
	}
	w.mu.Lock()
	if len(w.errs) > 0 {
		t.Errorf("two owners at once: %v", w.errs)
	}
	w.mu.Unlock()
	for i, c := range quiet {
		seen, _ := texts(t, ctx, c)
		if seen[fmt.Sprint("idle-before-", i)] != 1 {
			t.Errorf("idle chat %d after the drain: %v", i, seen)
		}
		if r, err := c.Send(ctx, fmt.Sprint("idle-after-", i), nil); err != nil || r.StatusCode != 0 {
			t.Errorf("idle chat %d after the drain: %+v, %v", i, r, err)
		}
	}

	stop := time.Now()
	if _, err := f.Nodes[0].Stop(10 * time.Second); err != nil {
		t.Fatalf("SIGTERM after the drain: %v", err)
	}
	if d := time.Since(stop); d > 5*time.Second {
		t.Errorf("the drained node took %v to stop", d)
	}
}

// claimTrail returns the lines of every node's log that name one of the
// sessions (at most the first three) or a lease renewal, each prefixed
// with its node: how the sessions changed hands.
func claimTrail(f *bench.Fleet, sessions []string) string {
	sessions = sessions[:min(len(sessions), 3)]
	var b strings.Builder
	for i, p := range f.Nodes {
		for _, line := range strings.Split(readLog(p.LogPath), "\n") {
			if strings.Contains(line, "lease") || slices.ContainsFunc(sessions, func(id string) bool { return strings.Contains(line, id) }) {
				fmt.Fprintf(&b, "node %d: %s\n", i, line)
			}
		}
	}
	return b.String()
}
