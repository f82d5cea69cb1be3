package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/server"
)

// record is what GET /api/v1/interactions/{id} returns.
type record struct {
	ID         string            `json:"id"`
	Status     string            `json:"status"`
	ContactID  string            `json:"contactId"`
	UserData   map[string]any    `json:"userData"`
	Statistics map[string]string `json:"statistics"`
	Transcript json.RawMessage   `json:"transcript"`
}

func (n *e2eNode) getJSON(t *testing.T, path, token string, into any) int {
	t.Helper()
	resp := n.admin(t, path, token)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: Content-Type %q", path, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode
}

// TestStatisticsThroughHistoryAPI closes a chat with an agent, a bot and
// a coach and reads its reporting statistics, user data and transcript
// through the history API, then the contact's history.
func TestStatisticsThroughHistoryAPI(t *testing.T) {
	n := startE2E(t, t.TempDir(), "[settings]\nattach-session-statistics = all\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	cust := chatv2.New(n.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	first, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim", EmailAddress: "kim@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	id := first.ID
	bot := n.dial(t, "tok-bot")
	if _, err := bot.Join(ctx, id, wire.JoinOptions{UserData: map[string]any{"GCTI_Chat_SetPartyStyle": "BOT"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.Send(ctx, id, wire.Message{Text: "Hi, I am a bot"}); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.Release(ctx, id, "KEEP_ALIVE", ""); err != nil {
		t.Fatal(err)
	}
	alice := n.dial(t, "tok-alice")
	if _, err := alice.Accept(ctx, id, wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Send(ctx, "where is my order?", nil); err != nil {
		t.Fatal(err)
	}
	bob := n.dial(t, "tok-bob") // alice asks bob to coach her
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
	if _, err := alice.Send(ctx, id, wire.Message{Text: "Here is a voucher"}); err != nil {
		t.Fatal(err)
	}
	if rel, err := alice.Release(ctx, id, "FORCE_CLOSE", ""); err != nil || !rel.Closed {
		t.Fatalf("release = %+v, %v", rel, err)
	}

	var rec record
	until(t, "the record to carry the statistics", func() bool {
		rec = record{}
		code := n.getJSON(t, "/api/v1/interactions/"+id, n.adminToken, &rec)
		return code == 200 && rec.Status == "closed" && rec.UserData["csg_PartiesAsCoachCount"] != nil
	})
	want := map[string]string{
		"csg_ChatSessionID": id, "csg_PartiesAsAgentCount": "1", "csg_PartiesAsCoachCount": "1",
		"csg_PartiesAsBotCount": "1", "csg_MessagesFromBotsCount": "1", "csg_MessagesFromAgentsCount": "1",
		"csg_MessagesFromCustomersCount": "1", "csg_SessionEndedBy": "AGENT", "csg_SessionEndedReason": "FORCE",
		"csg_SessionEndedAgent": "PRESENT", "csg_MediaType": "chat", "csg_TenantId": "1", "cse_AgentReplyTotalCount": "1",
		"csg_ChatAsyncMode": "0", "cse_SessionHandleTotalCount": "1",
	}
	for k, v := range want {
		if rec.Statistics[k] != v {
			t.Errorf("statistics %s = %q, want %q", k, rec.Statistics[k], v)
		}
		if rec.UserData[k] != v {
			t.Errorf("user data %s = %v, want %q", k, rec.UserData[k], v)
		}
	}
	if rec.UserData["IsOnline"] != "0" || rec.ContactID == "" || !strings.Contains(string(rec.Transcript), "Here is a voucher") {
		t.Errorf("record: IsOnline %v, contact %q, transcript %s", rec.UserData["IsOnline"], rec.ContactID, rec.Transcript)
	}

	// A second chat of the same customer: the history lists it first.
	second, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim", EmailAddress: "KIM@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	var contact struct {
		ID         string            `json:"id"`
		Attributes map[string]string `json:"attributes"`
	}
	if code := n.getJSON(t, "/api/v1/contacts/"+rec.ContactID, n.adminToken, &contact); code != 200 || contact.Attributes["EmailAddress"] != "kim@example.com" {
		t.Fatalf("contact: %d %+v", code, contact)
	}
	type page struct {
		Interactions []record `json:"interactions"`
		Next         string   `json:"next"`
	}
	var p page
	until(t, "the second chat in the contact's history", func() bool {
		p = page{}
		n.getJSON(t, "/api/v1/contacts/"+rec.ContactID+"/interactions", n.adminToken, &p)
		return len(p.Interactions) == 2
	})
	if p.Interactions[0].ID != second.ID || p.Interactions[1].ID != id || p.Next != "" {
		t.Fatalf("history = %+v, want %s then %s", p, second.ID, id)
	}
	if len(p.Interactions[0].Transcript) != 0 {
		t.Error("listing carries transcripts")
	}
	var p1, p2 page
	n.getJSON(t, "/api/v1/contacts/"+rec.ContactID+"/interactions?limit=1", n.adminToken, &p1)
	if len(p1.Interactions) != 1 || p1.Interactions[0].ID != second.ID || p1.Next != second.ID {
		t.Fatalf("page 1 = %+v", p1)
	}
	n.getJSON(t, "/api/v1/contacts/"+rec.ContactID+"/interactions?limit=1&after="+p1.Next, n.adminToken, &p2)
	if len(p2.Interactions) != 1 || p2.Interactions[0].ID != id || p2.Next != "" {
		t.Fatalf("page 2 = %+v", p2)
	}

	// Bad input.
	type apiErr struct{ Code, Field, Message string }
	for _, c := range []struct {
		path  string
		code  int
		field string
	}{
		{"/api/v1/interactions/no-such-chat", 404, "id"},
		{"/api/v1/contacts/no-such-contact", 404, "id"},
		{"/api/v1/contacts/no-such-contact/interactions", 404, "id"},
		{"/api/v1/contacts/" + rec.ContactID + "/interactions?limit=0", 400, "limit"},
		{"/api/v1/contacts/" + rec.ContactID + "/interactions?limit=abc", 400, "limit"},
		{"/api/v1/contacts/" + rec.ContactID + "/interactions?limit=1001", 400, "limit"},
		{"/api/v1/contacts/" + rec.ContactID + "/interactions?after=", 400, "after"},
		{"/api/v1/contacts/" + rec.ContactID + "/interactions?after=no-such", 400, "after"},
	} {
		var e apiErr
		if code := n.getJSON(t, c.path, n.adminToken, &e); code != c.code || e.Field != c.field || e.Message == "" {
			t.Errorf("GET %s: %d %+v, want %d naming %s", c.path, code, e, c.code, c.field)
		}
	}
	var e apiErr
	if code := n.getJSON(t, "/api/v1/interactions/"+id, "wrong", &e); code != 401 {
		t.Errorf("wrong token: %d", code)
	}

	// What the counters saw of it.
	health := "http://" + n.srv.Addr(config.PortHealth)
	_, body := getBody(t, health+"/Counters?content=set")
	var counters map[string]int64
	if err := json.Unmarshal([]byte(body), &counters); err != nil {
		t.Fatal(err)
	}
	for name, min := range map[string]int64{
		"session_created": 2, "session_closed": 1, "message_bot": 1, "message_agent": 1, "message_client": 1,
		"party_joined_bot": 1, "agent_connected": 3, "auth_failed": 1, "request_agent": 8, "request_admin": 10,
		"store_commit": 1,
	} {
		if counters[name] < min {
			t.Errorf("counter %s = %d, want at least %d", name, counters[name], min)
		}
	}
	_, metrics := getBody(t, health+"/metrics")
	for _, want := range []string{
		`confab_request_duration_seconds_count{api="agent",op="send"} 3`,
		`confab_request_duration_seconds_count{api="agent",op="accept"} 2`, // alice, and bob taking her invitation
		`confab_messages_total{party="bot"} 1`,
		`confab_store_commit_duration_seconds_count`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s\n%s", want, grepLines(metrics, "api=\"agent\""))
		}
	}
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		k, err := resp.Body.Read(buf)
		b.Write(buf[:k])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

// TestLoadLimitReadiness fills the node to limit-for-sessions: new chats
// are refused and counted, /readyz turns 503, and both recover once the
// sessions fall to the restore threshold.
func TestLoadLimitReadiness(t *testing.T) {
	n := startE2E(t, t.TempDir(), "[settings]\nlimit-for-sessions = 2\nlimit-for-flex-users = 10\nlimits-restore-threshold = 50\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	health := "http://" + n.srv.Addr(config.PortHealth)
	if code, _ := getBody(t, health+"/readyz"); code != 200 {
		t.Fatalf("readyz at start: %d", code)
	}
	cust := chatv2.New(n.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	var chats []*chatv2.Chat
	for i := 0; i < 2; i++ {
		ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "c"})
		if err != nil {
			t.Fatalf("chat %d: %v", i, err)
		}
		chats = append(chats, ch)
	}
	if code, _ := getBody(t, health+"/readyz"); code != 503 {
		t.Fatalf("readyz at the limit: %d", code)
	}
	if _, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "c"}); err == nil {
		t.Fatal("a third chat was created at limit-for-sessions 2")
	}
	_, body := getBody(t, health+"/Counters?content=set")
	var counters map[string]int64
	if err := json.Unmarshal([]byte(body), &counters); err != nil {
		t.Fatal(err)
	}
	if counters["limit_refused_create"] != 1 || counters["limit_active"] != 1 || counters["session_current"] != 2 || counters["request_webapi"] < 3 {
		t.Errorf("counters at the limit: %v", counters)
	}
	if _, err := chats[0].Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	until(t, "readyz back to 200", func() bool { code, _ := getBody(t, health+"/readyz"); return code == 200 })
	if _, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "c"}); err != nil {
		t.Fatalf("chat after the limit cleared: %v", err)
	}
	code, metrics := getBody(t, health+"/metrics")
	if code != 200 || !strings.Contains(metrics, `confab_limit_refusals_total{what="create"} 1`) || !strings.Contains(metrics, "confab_request_duration_seconds_bucket{api=\"webapi\",op=\"create\"") {
		t.Errorf("/metrics: %d\n%s", code, metrics)
	}
}

// lockedBuf is a log sink safe for the server's goroutines.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestUnimplementedWarning: at start and on reload one warning line
// names every option the file sets that has no effect yet.
func TestUnimplementedWarning(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "confab.ini")
	var unimpl []string
	for _, o := range config.Options() {
		if !o.Implemented && !o.Keyed() && (o.Section == "settings" || o.Section == "log") && len(unimpl) < 3 {
			unimpl = append(unimpl, "["+o.Section+"] "+o.Name)
		}
	}
	if len(unimpl) < 3 {
		t.Skip("fewer than three unimplemented options left")
	}
	write := func(extra string) {
		ini := "[settings]\nlimit-for-sessions = 5\n"
		for _, u := range unimpl[:2] {
			sec, name, _ := strings.Cut(strings.TrimPrefix(u, "["), "] ")
			ini += "[" + sec + "]\n" + name + " = " + defaultOf(name, sec) + "\n"
		}
		if err := os.WriteFile(path, []byte(ini+extra), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	cfg, _, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuf
	srv, err := server.New(context.Background(), server.Options{Config: cfg, ConfigPath: path, DataDir: dir, Listen: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	warning := func() string {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "not implemented") {
				return l
			}
		}
		return ""
	}
	line := warning()
	for _, u := range unimpl[:2] {
		if !strings.Contains(line, u) {
			t.Errorf("start-up warning %q does not name %s", line, u)
		}
	}
	if strings.Contains(line, "limit-for-sessions") {
		t.Errorf("start-up warning names an implemented option: %q", line)
	}
	// Reload with a third one.
	sec, name, _ := strings.Cut(strings.TrimPrefix(unimpl[2], "["), "] ")
	logs.mu.Lock()
	logs.b.Reset()
	logs.mu.Unlock()
	write("[" + sec + "]\n" + name + " = " + defaultOf(name, sec) + "\n[settings]\nlimit-for-sessions = 6\n")
	if err := srv.Reload(); err != nil {
		t.Fatal(err)
	}
	line = warning()
	for _, u := range unimpl {
		if !strings.Contains(line, u) {
			t.Errorf("reload warning %q does not name %s", line, u)
		}
	}
}

func defaultOf(name, section string) string {
	for _, o := range config.Options() {
		if o.Name == name && o.Section == section {
			if o.Default == "" {
				return "x"
			}
			return o.Default
		}
	}
	return "x"
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && strings.Contains(l, "_count") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
