package restore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/bench"
	"github.com/confab/confab/internal/store/postgres/pgtest"
)

const service = "customer-support"

// TestRestartAfterSIGKILL is the single-node restart test: 200 chats with
// agents stream messages from both sides, the server is killed with SIGKILL
// in mid-stream and started again on the same data directory. Every
// acknowledged message must be in the restored transcript exactly once, in
// the order it was acknowledged, every chat must go on with the same chatId
// and secureKey (the customer writes again, the agent joins again), and the
// agents' departures must be recorded with reason 8.
func TestRestartAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real server")
	}
	restartTest(t, "")
}

// TestRestartAfterSIGKILLPostgres is the same test on the PostgreSQL store.
func TestRestartAfterSIGKILLPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real server")
	}
	dsn, schema := pgtest.Schema(t)
	restartTest(t, "[store]\ndriver = postgres\ndsn = "+dsn+"&search_path="+schema+"\n")
}

func restartTest(t *testing.T, extraConfig string) {
	const chats, agents = 200, 10
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	exe := buildConfab(t)
	var tokens []string
	srv, err := bench.StartServer(ctx, bench.ServerOptions{Exe: exe, Dir: t.TempDir(), ExtraConfig: extraConfig, Prepare: func(dataDir string) error {
		var err error
		tokens, err = createAgents(ctx, exe, dataDir, extraConfig, agents)
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Kill()

	cc := chatv2.New(srv.URLs.WebAPI+"/genesys/2/chat", chatv2.Options{})
	var desks []*agent.Client
	for _, tok := range tokens {
		d, err := agent.Dial(ctx, srv.URLs.Agent, tok, &agent.Options{FrameBuffer: 1 << 14})
		if err != nil {
			t.Fatal(err)
		}
		go drain(d)
		desks = append(desks, d)
	}
	type chatState struct {
		chat    *chatv2.Chat
		desk    *agent.Client
		acked   []string // acknowledged texts, both sides, in acknowledgement order per side
		ackedMu sync.Mutex
	}
	all := make([]*chatState, chats)
	for i := range all {
		c, _, err := cc.RequestChat(ctx, service, chatv2.ChatRequest{Nickname: fmt.Sprintf("customer-%d", i)})
		if err != nil {
			t.Fatalf("chat %d: %v", i, err)
		}
		d := desks[i%agents]
		if _, err := d.Accept(ctx, c.ID, agent.JoinOptions{}); err != nil {
			t.Fatalf("agent accepts chat %d: %v", i, err)
		}
		all[i] = &chatState{chat: c, desk: d}
	}

	// Stream from both sides until the kill.
	var acks atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, cs := range all {
		for _, side := range []string{"c", "a"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; ; k++ {
					select {
					case <-stop:
						return
					default:
					}
					text := fmt.Sprintf("%s-%d-%d", side, i, k)
					rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
					var err error
					if side == "c" {
						var resp *chatv2.Response
						resp, err = cs.chat.Send(rctx, text, nil)
						if err == nil && resp.StatusCode != 0 {
							err = fmt.Errorf("status %d", resp.StatusCode)
						}
					} else {
						_, err = cs.desk.Send(rctx, cs.chat.ID, agent.Message{Text: text})
					}
					rcancel()
					if err != nil {
						return // the server is gone
					}
					cs.ackedMu.Lock()
					cs.acked = append(cs.acked, text)
					cs.ackedMu.Unlock()
					acks.Add(1)
				}
			}()
		}
	}
	for acks.Load() < 3000 {
		select {
		case <-ctx.Done():
			t.Fatal("streaming stalled before the kill")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := srv.KillRestart(ctx); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	for _, d := range desks {
		d.Close()
	}
	t.Logf("%d messages acknowledged before SIGKILL", acks.Load())

	cc2 := chatv2.New(srv.URLs.WebAPI+"/genesys/2/chat", chatv2.Options{})
	desk2, err := agent.Dial(ctx, srv.URLs.Agent, tokens[0], &agent.Options{FrameBuffer: 1 << 14})
	if err != nil {
		t.Fatal(err)
	}
	defer desk2.Close()
	go drain(desk2)
	failures := 0
	fail := func(format string, args ...any) {
		if failures++; failures <= 10 {
			t.Errorf(format, args...)
		}
	}
	for i, cs := range all {
		c := cc2.Resume(service, cs.chat.ID, cs.chat.UserID, cs.chat.SecureKey, cs.chat.Alias())
		resp, err := c.Refresh(ctx, 1)
		if err != nil || resp.StatusCode != 0 || resp.ChatEnded {
			fail("chat %d after restart: %+v, %v", i, resp, err)
			continue
		}
		seen := map[string]int{}
		var order []string
		reason8 := false
		for _, m := range resp.Messages {
			if m.Type == chatv2.TypeMessage {
				seen[m.Text]++
				order = append(order, m.Text)
			}
			if m.Type == chatv2.TypeParticipantLeft && m.From.Type == "Agent" {
				reason8 = true
			}
		}
		for text, n := range seen {
			if n != 1 {
				fail("chat %d: %q is in the transcript %d times", i, text, n)
			}
		}
		for _, text := range cs.acked {
			if seen[text] != 1 {
				fail("chat %d: acknowledged %q is missing after the restart", i, text)
			}
		}
		if !inOrder(order, cs.acked) {
			fail("chat %d: acknowledged messages out of order", i)
		}
		if !reason8 {
			fail("chat %d: the agent's departure at restoration is not in the transcript", i)
		}
		// The chat goes on with the same keys.
		if r, err := c.Send(ctx, "after restart", nil); err != nil || r.StatusCode != 0 {
			fail("chat %d: customer send after restart: %+v, %v", i, r, err)
		}
		if i%20 == 0 {
			if _, err := desk2.Join(ctx, cs.chat.ID, agent.JoinOptions{}); err != nil {
				fail("chat %d: agent joins again: %v", i, err)
			} else if _, err := desk2.Send(ctx, cs.chat.ID, agent.Message{Text: "agent back"}); err != nil {
				fail("chat %d: agent send after restart: %v", i, err)
			}
		}
	}
	if !strings.Contains(srv.Output(), "restoration at start: 200 restored") {
		t.Errorf("the server did not report 200 restored sessions:\n%s", srv.Output())
	}
}

// inOrder reports whether acked (per side) appear in order in the
// transcript order.
func inOrder(order, acked []string) bool {
	pos := map[string]int{}
	for i, t := range order {
		pos[t] = i
	}
	last := map[byte]int{}
	for _, t := range acked {
		p, ok := pos[t]
		if !ok {
			return false
		}
		if l, ok := last[t[0]]; ok && p < l {
			return false
		}
		last[t[0]] = p
	}
	return true
}

func drain(d *agent.Client) {
	for range d.Frames() {
	}
}

func buildConfab(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "confab")
	cmd := exec.Command("go", "build", "-o", exe, "github.com/confab/confab/cmd/confab")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out.String())
	}
	if _, err := os.Stat(exe); err != nil {
		t.Fatal(err)
	}
	return exe
}

// createAgents adds agent accounts to the store the server will use.
func createAgents(ctx context.Context, exe, dataDir, extraConfig string, n int) ([]string, error) {
	dsn := ""
	for _, line := range strings.Split(extraConfig, "\n") {
		if v, ok := strings.CutPrefix(line, "dsn = "); ok {
			dsn = v
		}
	}
	if dsn == "" {
		return bench.CreateAgents(ctx, exe, dataDir, n)
	}
	var tokens []string
	for i := range n {
		out, err := exec.CommandContext(ctx, exe, "agent", "add", "--store-dsn", dsn, fmt.Sprintf("agent-%d", i)).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("confab agent add: %v: %s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "token") {
				tokens = append(tokens, strings.TrimSpace(line[strings.LastIndex(line, ": ")+2:]))
			}
		}
	}
	if len(tokens) != n {
		return nil, fmt.Errorf("got %d agent tokens, want %d", len(tokens), n)
	}
	return tokens, nil
}
