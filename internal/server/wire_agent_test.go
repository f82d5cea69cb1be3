package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
	espc "github.com/confab/confab/client/esp"
	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/history"
	"github.com/confab/confab/internal/server"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
	"github.com/confab/confab/internal/store/sqlite/sqlitetest"
)

// e2eNode is a node started in-process with agents in its store.
type e2eNode struct {
	srv                  *server.Server
	out                  bytes.Buffer
	agentURL, espURL     string
	chatURL              string
	adminToken, espToken string
}

var e2eAgents = []struct {
	id, name, token string
	typ             store.UserType
	queues          []string
	capacity        int
}{
	{"alice", "Alice", "tok-alice", store.UserAgent, []string{"default"}, 1},
	{"bob", "Bob", "tok-bob", store.UserAgent, []string{"default"}, 1},
	{"sue", "Sue", "tok-sue", store.UserSupervisor, []string{"default"}, 1},
	{"bot", "Helper Bot", "tok-bot", store.UserBot, []string{"default"}, 5},
	{"ann", "Ann", "tok-ann", store.UserAgent, []string{"default"}, 1},
	{"ben", "Ben", "tok-ben", store.UserAgent, []string{"default"}, 1},
}

// startE2E seeds the agents into the data directory's store, then starts a
// node on 127.0.0.1 with generated admin and ESP tokens; it logs nothing.
func startE2E(t testing.TB, dir string, ini string) *e2eNode {
	t.Helper()
	return startNode(t, dir, ini, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// startNode is startE2E logging to log.
func startNode(t testing.TB, dir, ini string, log *slog.Logger) *e2eNode {
	t.Helper()
	ctx := context.Background()
	sqlitetest.Seed(t, dir) // an empty store of the current schema unless dir has one: no migrations to run
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range e2eAgents {
		err := st.AddAgent(ctx, store.Agent{ID: a.id, Name: a.name, TokenHash: agent.HashToken(a.token), Type: a.typ,
			Queues: a.queues, Capacity: a.capacity})
		if err != nil && !strings.Contains(err.Error(), "exists") {
			t.Fatal(err)
		}
	}
	st.Close(ctx)
	cfg, _, err := config.Parse("e2e.ini", []byte(ini))
	if err != nil {
		t.Fatal(err)
	}
	n := &e2eNode{}
	n.srv, err = server.New(ctx, server.Options{Config: cfg, DataDir: dir, Listen: "127.0.0.1:0", Logger: log, Out: &n.out})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.srv.Shutdown(ctx)
	})
	n.agentURL = "http://" + n.srv.Addr(config.PortAgent)
	n.espURL = "http://" + n.srv.Addr(config.PortESP)
	n.chatURL = "http://" + n.srv.Addr(config.PortWebAPI) + "/genesys/2/chat"
	n.adminToken, n.espToken = cfg.Admin.Token, cfg.ESP.Token
	if n.adminToken == "" {
		n.adminToken = readToken(t, filepath.Join(dir, "admin.token"))
	}
	if n.espToken == "" {
		n.espToken = readToken(t, filepath.Join(dir, "esp.token"))
	}
	return n
}

func readToken(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("generated token: %v", err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	return strings.TrimSpace(string(data))
}

func (n *e2eNode) dial(t testing.TB, token string) *wire.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := wire.Dial(ctx, n.agentURL, token, nil)
	if err != nil {
		t.Fatalf("dial agent: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (n *e2eNode) admin(t *testing.T, path, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, n.agentURL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

type listed struct {
	ID        string         `json:"id"`
	SessionID string         `json:"sessionId"`
	Queue     string         `json:"queue"`
	State     string         `json:"state"`
	UserData  map[string]any `json:"userData"`
}

func (n *e2eNode) list(t *testing.T, queue string) []listed {
	t.Helper()
	resp := n.admin(t, "/api/v1/interactions?queue="+queue, n.adminToken)
	defer resp.Body.Close()
	var out []listed
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("list interactions: %d %v", resp.StatusCode, err)
	}
	return out
}

// until polls cond until it holds or 10 s pass.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// events collects what an agent client receives.
func sawText(t *testing.T, c *wire.Client, text string) wire.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-c.Frames():
			if !ok {
				t.Fatalf("agent connection ended: %v", c.Err())
			}
			for _, ev := range f.Events {
				if ev.Text == text {
					return ev
				}
			}
		case <-timeout:
			t.Fatalf("agent never saw %q", text)
		}
	}
}

// TestEndToEnd runs the scenario over real sockets: a customer
// through the Chat API v2 client, agents and a bot through the agent
// protocol, a workflow through ESP, and an operator through the admin API.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	n := startE2E(t, dir, "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if !strings.Contains(n.out.String(), n.espToken) || !strings.Contains(n.out.String(), n.adminToken) {
		t.Fatalf("generated tokens not printed:\n%s", n.out.String())
	}

	// The operator follows the queue.
	stream := n.admin(t, "/api/v1/events?queue=default", n.adminToken)
	defer stream.Body.Close()
	created := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "data: ") {
				var c struct {
					Type        string `json:"type"`
					Interaction listed `json:"interaction"`
				}
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &c) == nil && c.Type == "created" {
					created <- c.Interaction.ID
				}
			}
		}
	}()

	// A customer starts a chat.
	cust := chatv2.New(n.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim", Subject: "late order", UserData: map[string]string{"OrderId": "A-17"}})
	if err != nil {
		t.Fatal(err)
	}
	id := ch.ID
	select {
	case got := <-created:
		if got != id {
			t.Fatalf("event stream announced %s, want %s", got, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the event stream did not announce the interaction")
	}
	q := n.list(t, "default")
	if len(q) != 1 || q[0].ID != id || q[0].SessionID != id || q[0].State != "queued" ||
		q[0].UserData["OrderId"] != "A-17" || q[0].UserData["IsOnline"] != "1" || q[0].UserData["ChatServerAppName"] == nil {
		t.Fatalf("queue = %+v", q)
	}

	// The workflow greets.
	esp := espc.New(n.espURL, n.espToken, nil)
	if _, err := esp.Message(ctx, id, "An agent will be with you shortly", espc.Params{"Nickname": "Workflow"}); err != nil {
		t.Fatal(err)
	}

	// Alice accepts and chats.
	alice := n.dial(t, "tok-alice")
	waiting, err := alice.List(ctx, "default")
	if err != nil || len(waiting) != 1 || waiting[0].ID != id {
		t.Fatalf("alice's list = %+v, %v", waiting, err)
	}
	if _, err := alice.Accept(ctx, id, wire.JoinOptions{Text: "Hi, Alice here"}); err != nil {
		t.Fatal(err)
	}
	sawText(t, alice, "An agent will be with you shortly") // the replay
	if _, err := ch.Send(ctx, "where is my order?", nil); err != nil {
		t.Fatal(err)
	}
	sawText(t, alice, "where is my order?")
	if _, err := alice.Send(ctx, id, wire.Message{Text: "Let me look it up", MsgType: "text"}); err != nil {
		t.Fatal(err)
	}

	// Alice invites Bob to coach her; Sue monitors; a bot helps.
	bob := n.dial(t, "tok-bob")
	if _, err := bob.Join(ctx, id, wire.JoinOptions{Visibility: "INT"}); codeOf(err) != wire.CodeForbidden {
		t.Fatalf("bob joins a chat he has no part in: %v, want forbidden", err)
	}
	if err := bob.SetState(ctx, wire.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	if err := alice.Invite(ctx, id, "bob", "INT"); err != nil {
		t.Fatal(err)
	}
	waitOffer(t, bob, id)
	if _, err := bob.Accept(ctx, id, wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Send(ctx, id, wire.Message{Text: "offer a voucher", Visibility: "INT"}); err != nil {
		t.Fatal(err)
	}
	sawText(t, alice, "offer a voucher")
	sue := n.dial(t, "tok-sue")
	if _, err := sue.Join(ctx, id, wire.JoinOptions{UserType: "SUPERVISOR", Visibility: "VIP"}); err != nil {
		t.Fatal(err)
	}
	sawText(t, sue, "offer a voucher") // replay: supervisors see coaching too
	if _, err := sue.Send(ctx, id, wire.Message{Text: "monitoring", Visibility: "VIP"}); err != nil {
		t.Fatal(err)
	}
	bot := n.dial(t, "tok-bot")
	if _, err := bot.Join(ctx, id, wire.JoinOptions{UserData: map[string]any{"GCTI_Chat_SetPartyStyle": "BOT"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.Send(ctx, id, wire.Message{Text: "Your voucher code is 1234"}); err != nil {
		t.Fatal(err)
	}
	sawText(t, alice, "Your voucher code is 1234")

	// What the customer saw: never the coaching nor the monitoring.
	resp, err := ch.Refresh(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range resp.Messages {
		seen[m.Text] = true
		if m.From.Type == "Supervisor" {
			t.Fatalf("customer sees the supervisor: %+v", m)
		}
	}
	for _, want := range []string{"An agent will be with you shortly", "Let me look it up", "Your voucher code is 1234"} {
		if !seen[want] {
			t.Fatalf("customer did not see %q; saw %v", want, seen)
		}
	}
	if seen["offer a voucher"] || seen["monitoring"] {
		t.Fatalf("customer saw coaching or monitoring: %v", seen)
	}

	// Everyone but the bot leaves; Alice last, closing if no agents remain.
	for _, c := range []*wire.Client{bob, sue} {
		if _, err := c.Release(ctx, id, "KEEP_ALIVE", ""); err != nil {
			t.Fatal(err)
		}
	}
	rel, err := alice.Release(ctx, id, "CLOSE_IF_NO_AGENTS", "Goodbye")
	if err != nil || !rel.Closed {
		t.Fatalf("release = %+v, %v; want the session closed with only a bot left", rel, err)
	}

	// The interaction goes offline and the stored transcript holds every event.
	until(t, "the interaction to go offline", func() bool {
		q := n.list(t, "default")
		return len(q) == 1 && q[0].State == "offline" && q[0].UserData["IsOnline"] == "0"
	})
	s, err := n.srv.Engine().Get(id)
	if err != nil {
		t.Fatal(err)
	}
	all, _, _ := s.ReadAll(0, nil)
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	var tr history.Transcript
	until(t, "the final transcript", func() bool {
		rec, err := st.GetInteraction(ctx, id)
		return err == nil && rec.Status == store.StatusClosed && json.Unmarshal(rec.Transcript, &tr) == nil
	})
	live := 0
	for _, ev := range all {
		if !ev.Superseded {
			live++
		}
	}
	if len(tr.Events) != live || live < 15 {
		t.Fatalf("stored transcript has %d events, the session %d", len(tr.Events), live)
	}
	texts := map[string]bool{}
	for _, ev := range tr.Events {
		texts[ev.Text] = true
	}
	for _, want := range []string{"An agent will be with you shortly", "where is my order?", "offer a voucher", "monitoring", "Goodbye"} {
		if !texts[want] {
			t.Fatalf("stored transcript lacks %q", want)
		}
	}
	// Routing's last write lands after history's final record.
	until(t, "the stored interaction to show IsOnline=0", func() bool {
		rec, err := st.GetInteraction(ctx, id)
		var ud map[string]any
		json.Unmarshal(rec.UserData, &ud)
		return err == nil && ud["IsOnline"] == "0" && ud["ChatServerSessionId"] == id && rec.State == "offline"
	})
}

func TestDroppedAgentSocketEndToEnd(t *testing.T) {
	n := startE2E(t, t.TempDir(), "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cust := chatv2.New(n.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim", UserData: map[string]string{"GCTI_Chat_AsyncMode": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.Dial(ctx, strings.Replace(n.agentURL, "http", "ws", 1)+wire.Path,
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer tok-alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			if _, _, err := ws.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	ws.Write(ctx, websocket.MessageText, []byte(`{"id":"1","op":"accept","interactionId":"`+ch.ID+`"}`))
	until(t, "the agent to join", func() bool {
		q := n.list(t, "default")
		return len(q) == 1 && q[0].State == "assigned"
	})
	ws.CloseNow()
	s, _ := n.srv.Engine().Get(ch.ID)
	var left chat.Event
	until(t, "partyLeft", func() bool {
		evs, _, _ := s.ReadAll(0, nil)
		for _, ev := range evs {
			if ev.Kind == chat.PartyLeft && ev.From.Type == chat.Agent {
				left = ev
				return true
			}
		}
		return false
	})
	// The agent's departure can only come from the socket's drop: agents
	// (basic protocol) have no flex timeout, and no session timer falls due
	// within the wait above. No wall-clock bound is asserted.
	if left.Reason != chat.LeftDisconnect {
		t.Fatalf("partyLeft reason %d; want 3", left.Reason)
	}
	// Readers see an event once it is durable (the commit watermark), which
	// may be a moment after ReadAll shows it: poll.
	var resp *chatv2.Response
	seen := func() bool {
		resp, err = ch.Refresh(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range resp.Messages {
			if m.Type == chatv2.TypeParticipantLeft && m.From.Type == "Agent" {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(5 * time.Second)
	for !seen() {
		if time.Now().After(deadline) {
			t.Fatalf("customer did not see the agent leave: %+v", resp.Messages)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if info := s.Info(); info.Async {
		until(t, "GCTI_Chat_AsyncStatus=4", func() bool {
			q := n.list(t, "default")
			return len(q) == 1 && q[0].UserData["GCTI_Chat_AsyncStatus"] == "4"
		})
	}
}

// TestEntryPointsRefuseWrongTokens tries every agent, admin and ESP entry
// point with no token, a wrong one, the customer's secure key and the
// other APIs' tokens.
func TestEntryPointsRefuseWrongTokens(t *testing.T) {
	n := startE2E(t, t.TempDir(), "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cust := chatv2.New(n.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim"})
	if err != nil {
		t.Fatal(err)
	}
	key := ch.SecureKey
	if key == "" {
		t.Fatal("no secure key")
	}
	type entry struct {
		name, method, url string
		good              string
		others            []string
	}
	var entries []entry
	entries = append(entries,
		entry{"agent socket", "GET", n.agentURL + wire.Path, "tok-alice", []string{n.adminToken, n.espToken}},
		entry{"admin interactions", "GET", n.agentURL + "/api/v1/interactions", n.adminToken, []string{"tok-alice", n.espToken}},
		entry{"admin events", "GET", n.agentURL + "/api/v1/events", n.adminToken, []string{"tok-alice", n.espToken}},
	)
	for _, m := range []string{"Message", "Notice", "PlaceOnHold", "CloseSession", "GetSessionInfo", "IdleControlConfigure", "ConfigureSession"} {
		entries = append(entries, entry{"esp " + m, "POST", n.espURL + "/esp/Chat/" + m, n.espToken, []string{"tok-alice", n.adminToken}})
	}
	for _, e := range entries {
		for _, tok := range append([]string{"", "wrong", key, ch.UserID}, e.others...) {
			req, _ := http.NewRequest(e.method, e.url, strings.NewReader(`{"InteractionId":"`+ch.ID+`","MessageText":"x"}`))
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s with token %q: HTTP %d, want 401", e.name, tok, resp.StatusCode)
			}
		}
	}
	// The right tokens open them (the ESP call is read-only).
	if _, err := espc.New(n.espURL, n.espToken, nil).GetSessionInfo(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	if resp := n.admin(t, "/api/v1/interactions", n.adminToken); resp.StatusCode != 200 {
		t.Fatalf("admin with its token: %d", resp.StatusCode)
	} else {
		resp.Body.Close()
	}
	n.dial(t, "tok-alice")
	s, _ := n.srv.Engine().Get(ch.ID)
	if evs, _, _ := s.ReadAll(0, nil); len(evs) != 1 {
		t.Fatalf("refused requests changed the session: %+v", evs)
	}
}

func TestTokensGeneratedOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	n := startE2E(t, dir, "")
	first := n.out.String()
	if !strings.Contains(first, n.espToken) {
		t.Fatalf("first start did not print the ESP token:\n%s", first)
	}
	// Each step has a deadline of its own: one context for the shutdown,
	// the two starts and the ESP call ran out under load before the call.
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.srv.Shutdown(shutCtx); err != nil {
		t.Fatalf("shutdown before the restart: %v", err)
	}
	again := startE2E(t, dir, "")
	if again.espToken != n.espToken || again.adminToken != n.adminToken {
		t.Fatal("tokens changed across restarts")
	}
	if strings.Contains(again.out.String(), n.espToken) || strings.Contains(again.out.String(), n.adminToken) {
		t.Fatalf("second start printed a token again:\n%s", again.out.String())
	}
	// A configured token replaces the generated one.
	configured := startE2E(t, t.TempDir(), "[esp]\ntoken = from-config\n[admin]\ntoken = admin-from-config\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := espc.New(configured.espURL, "from-config", nil).GetSessionInfo(ctx, "none")
	var fault *espc.Fault
	if !errors.As(err, &fault) || fault.FaultCode != espc.FaultUnknownInteraction {
		// An unknown interaction is the only answer a valid token gets;
		// anything else (no fault, another fault, a transport error) fails.
		t.Fatalf("configured ESP token: got %v, want fault %d (unknown interaction)", err, espc.FaultUnknownInteraction)
	}
	if resp := configured.admin(t, "/api/v1/interactions", "admin-from-config"); resp.StatusCode != 200 {
		t.Fatalf("configured admin token refused: %d", resp.StatusCode)
	} else {
		resp.Body.Close()
	}
}
