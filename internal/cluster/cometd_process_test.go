package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/client/chatv2"
)

// bayeux is a CometD customer as the widgets are: long-polling on one
// node at a time, from a list of nodes. It follows the advice of the
// connect answers (handshake: again, from its next position with
// requestNotifications; none: stop), moves to the next node when one does
// not answer or refuses the handshake, and counts every event index it is
// delivered, so a test sees a gap or a duplicate.
type bayeux struct {
	t       *testing.T
	nodes   []string // webapi base URLs; at is the current one
	at      int
	hc      *http.Client
	channel string

	clientID                  string
	chatID, userID, secureKey string
	alias                     string
	next                      int            // the next index it expects
	seen                      map[int]int    // deliveries of each event index
	texts                     map[string]int // deliveries of each message text
	handshakes                int
	stopped                   bool // told reconnect=none (replaced)
	stopError                 string
}

func newBayeux(t *testing.T, nodes ...string) *bayeux {
	jar, _ := cookiejar.New(nil)
	return &bayeux{t: t, nodes: nodes, hc: &http.Client{Jar: jar, Timeout: 5 * time.Second},
		channel: "/service/chatV2/" + service, next: 1, seen: map[int]int{}, texts: map[string]int{}}
}

type bmsg struct {
	Channel      string          `json:"channel"`
	ClientID     string          `json:"clientId,omitempty"`
	ID           string          `json:"id,omitempty"`
	Successful   *bool           `json:"successful,omitempty"`
	Error        string          `json:"error,omitempty"`
	Data         json.RawMessage `json:"data,omitempty"`
	Subscription string          `json:"subscription,omitempty"`
	Version      string          `json:"version,omitempty"`
	Types        []string        `json:"supportedConnectionTypes,omitempty"`
	Conn         string          `json:"connectionType,omitempty"`
	Advice       *struct {
		Reconnect string `json:"reconnect,omitempty"`
		Timeout   *int   `json:"timeout,omitempty"`
	} `json:"advice,omitempty"`
}

// post sends one batch to the current node and handles the deliveries in
// the answer; it returns the replies that are not deliveries.
func (b *bayeux) post(ctx context.Context, batch ...bmsg) ([]bmsg, error) {
	body, _ := json.Marshal(batch)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.nodes[b.at]+"/genesys/cometd", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []bmsg
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("cometd answer (HTTP %d): %w", resp.StatusCode, err)
	}
	var replies []bmsg
	for _, m := range out {
		if m.Channel == b.channel && m.Data != nil {
			b.deliver(m.Data)
			continue
		}
		replies = append(replies, m)
	}
	return replies, nil
}

func (b *bayeux) deliver(data json.RawMessage) {
	var body struct {
		StatusCode int    `json:"statusCode"`
		ChatID     string `json:"chatId"`
		UserID     string `json:"userId"`
		SecureKey  string `json:"secureKey"`
		Alias      string `json:"alias"`
		Messages   []struct {
			Index int    `json:"index"`
			Type  string `json:"type"`
			Text  string `json:"text"`
		} `json:"messages"`
	}
	if json.Unmarshal(data, &body) != nil {
		b.t.Errorf("undecodable delivery %s", data)
		return
	}
	if body.StatusCode == 0 && body.ChatID != "" && b.chatID == "" {
		b.chatID, b.userID, b.secureKey = body.ChatID, body.UserID, body.SecureKey
	}
	if body.Alias != "" {
		b.alias = body.Alias
	}
	for _, m := range body.Messages {
		b.seen[m.Index]++
		if m.Type == chatv2.TypeMessage {
			b.texts[m.Text]++
		}
		b.next = max(b.next, m.Index+1)
	}
}

// start handshakes (moving on through the node list while nodes refuse or
// do not answer), subscribes and, with a chat, asks for its events from
// the next position.
func (b *bayeux) start(ctx context.Context) error {
	for try := 0; ; try++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if try > 0 {
			b.at = (b.at + 1) % len(b.nodes)
			time.Sleep(100 * time.Millisecond)
		}
		r, err := b.post(ctx, bmsg{Channel: "/meta/handshake", Version: "1.0", Types: []string{"long-polling"}, ID: "h"})
		if err != nil || len(r) != 1 || r[0].Successful == nil || !*r[0].Successful {
			continue
		}
		b.clientID = r[0].ClientID
		b.handshakes++
		if _, err := b.post(ctx, bmsg{Channel: "/meta/subscribe", ClientID: b.clientID, Subscription: b.channel, ID: "s"}); err != nil {
			continue
		}
		if b.chatID == "" {
			return nil
		}
		if ok, err := b.publish(ctx, map[string]any{"operation": "requestNotifications", "transcriptPosition": b.next}); err == nil && ok {
			return nil
		}
	}
}

// publish sends one operation; ok is false when the server refused the
// publish (the client must handshake again).
func (b *bayeux) publish(ctx context.Context, data map[string]any) (bool, error) {
	if b.chatID != "" {
		data["chatId"], data["userId"], data["secureKey"] = b.chatID, b.userID, b.secureKey
	}
	raw, _ := json.Marshal(data)
	r, err := b.post(ctx, bmsg{Channel: b.channel, ClientID: b.clientID, Data: raw, ID: "p"})
	if err != nil {
		return false, err
	}
	return len(r) == 1 && r[0].Successful != nil && *r[0].Successful, nil
}

// poll runs one connect (held up to half a second) and follows its advice.
func (b *bayeux) poll(ctx context.Context) {
	if b.stopped {
		return
	}
	timeout := 500
	r, err := b.post(ctx, bmsg{Channel: "/meta/connect", ClientID: b.clientID, Conn: "long-polling", ID: "c",
		Advice: &struct {
			Reconnect string `json:"reconnect,omitempty"`
			Timeout   *int   `json:"timeout,omitempty"`
		}{Timeout: &timeout}})
	if err != nil {
		b.at = (b.at + 1) % len(b.nodes) // the node is gone: another one
		b.start(ctx)
		return
	}
	for _, m := range r {
		if m.Channel != "/meta/connect" || m.Successful == nil || *m.Successful {
			continue
		}
		if m.Advice != nil && m.Advice.Reconnect == "none" {
			b.stopped, b.stopError = true, m.Error
			return
		}
		b.start(ctx)
		return
	}
}

// until polls until cond holds, bounded by d.
func (b *bayeux) until(ctx context.Context, d time.Duration, what string, cond func() bool) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for !cond() {
		if ctx.Err() != nil {
			b.t.Fatalf("customer %s: %s not seen in %v (at node %d, seen %v)", b.chatID, what, d, b.at, b.texts)
		}
		b.poll(ctx)
	}
}

// send publishes a message and waits until the chat's feed delivers it;
// a publish refused or lost on a move is sent again with the same client
// message id (the server adds it once).
func (b *bayeux) send(ctx context.Context, text string) {
	b.t.Helper()
	for try := 0; ; try++ {
		if try == 20 {
			b.t.Fatalf("customer %s: %q never delivered", b.chatID, text)
		}
		ok, err := b.publish(ctx, map[string]any{"operation": "sendMessage", "message": text, "clientMessageId": "bx-" + text})
		if err != nil || !ok {
			b.poll(ctx) // follows the advice: a new handshake where it must
			continue
		}
		deadline := time.Now().Add(3 * time.Second)
		for b.texts[text] == 0 && time.Now().Before(deadline) && !b.stopped {
			b.poll(ctx)
		}
		if b.texts[text] > 0 {
			return
		}
	}
}

// checkWhole fails unless the customer was delivered every event of its
// transcript (as a REST refresh through via reads it) exactly once, and
// every text of want once.
func (b *bayeux) checkWhole(ctx context.Context, via *node, want []string) {
	b.t.Helper()
	rest := via.cc.Resume(service, b.chatID, b.userID, b.secureKey, b.alias)
	resp, err := rest.Refresh(ctx, 1)
	if err != nil || resp.StatusCode != 0 {
		b.t.Fatalf("refresh of %s: %+v, %v", b.chatID, resp, err)
	}
	b.until(ctx, 10*time.Second, "the whole transcript", func() bool {
		for _, m := range resp.Messages {
			if b.seen[m.Index] == 0 {
				return false
			}
		}
		return true
	})
	indexes := map[int]bool{}
	stored := map[string]int{}
	for _, m := range resp.Messages {
		indexes[m.Index] = true
		if m.Type == chatv2.TypeMessage {
			stored[m.Text]++
		}
	}
	for i, n := range b.seen {
		if n != 1 {
			b.t.Errorf("customer %s: event %d delivered %d times", b.chatID, i, n)
		}
		if !indexes[i] && i < resp.NextPosition {
			b.t.Errorf("customer %s: delivered event %d is not in the transcript", b.chatID, i)
		}
	}
	for _, w := range want {
		if stored[w] != 1 || b.texts[w] != 1 {
			b.t.Errorf("customer %s: %q stored %d times and delivered %d times, want once", b.chatID, w, stored[w], b.texts[w])
		}
	}
}

// TestCometDCustomersInACluster: CometD customers follow their chat across
// a cluster of 3 real nodes on PostgreSQL. A customer's browser that moves
// to another node (a reload pinned elsewhere) takes its chat from the live
// owner there, and the old client is replaced (409, advice none); the
// customers of a node killed with SIGKILL handshake with the next node and
// go on from their position; a drain hands the chats on while the node
// stays up: its clients are told to handshake again, the draining node
// refuses them, and they resume on the last node. Every message
// acknowledged (delivered) is stored once and every event delivered once.
func TestCometDCustomersInACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	phase := func(what string) { t.Logf("%v: %s", time.Since(began).Round(time.Millisecond), what) }
	nodes, _, dsn := startCluster(t, ctx, 3, 0)
	phase("3 nodes up")
	a, b, c := nodes[0], nodes[1], nodes[2]
	url := func(n *node) string { return n.p.URLs.WebAPI }

	var custs []*bayeux
	want := map[*bayeux][]string{}
	for i := range 3 {
		home := a
		if i == 2 {
			home = c
		}
		bx := newBayeux(t, url(home), url(b), url(c))
		if err := bx.start(ctx); err != nil {
			t.Fatal(err)
		}
		if ok, err := bx.publish(ctx, map[string]any{"operation": "requestChat", "nickname": fmt.Sprint("bx", i)}); err != nil || !ok {
			t.Fatalf("requestChat: %v %v", ok, err)
		}
		bx.until(ctx, 10*time.Second, "the requestChat answer", func() bool { return bx.chatID != "" })
		for j := range 2 {
			text := fmt.Sprintf("c%d-before-%d", i, j)
			bx.send(ctx, text)
			want[bx] = append(want[bx], text)
		}
		custs = append(custs, bx)
	}

	phase("3 CometD customers chatting")
	// The third customer's browser comes back through b: b takes the chat
	// from c, which is alive; c's client of it is replaced.
	old := custs[2]
	// Someone who knows the chat id but not its secure key cannot pull the
	// chat to b: c keeps it.
	impostor := newBayeux(t, url(b))
	impostor.chatID, impostor.userID, impostor.secureKey = old.chatID, old.userID, "not-"+old.secureKey
	if err := impostor.start(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := impostor.publish(ctx, map[string]any{"operation": "sendMessage", "message": "impostor"}); err != nil || !ok {
		t.Fatalf("the impostor's publish: %v %v", ok, err)
	}
	if n, _ := owner(t, ctx, dsn, old.chatID); n != nodeIDOf(t, c) {
		t.Errorf("chat %s is owned by %s after an operation with a wrong key through b; want c", old.chatID, n)
	}
	moved := newBayeux(t, url(b), url(c))
	moved.chatID, moved.userID, moved.secureKey = old.chatID, old.userID, old.secureKey
	if err := moved.start(ctx); err != nil {
		t.Fatal(err)
	}
	moved.send(ctx, "c2-on-b")
	want[moved] = append(append([]string(nil), want[old]...), "c2-on-b")
	if n, _ := owner(t, ctx, dsn, moved.chatID); n != nodeIDOf(t, b) {
		t.Errorf("chat %s is owned by %s after b took it", moved.chatID, n)
	}
	old.until(ctx, 5*time.Second, "the replacement", func() bool { return old.stopped })
	if !strings.HasPrefix(old.stopError, "409") {
		t.Errorf("the old client on c ended with %q, want 409 (replaced)", old.stopError)
	}
	custs[2] = moved

	phase("b took a chat from live c")
	// SIGKILL a: its customers go on through b at once (the CometD client
	// takes its chat there; no lease to wait for).
	a.p.Kill()
	for i, bx := range custs[:2] {
		text := fmt.Sprintf("c%d-after-kill", i)
		bx.send(ctx, text)
		want[bx] = append(want[bx], text)
		if bx.nodes[bx.at] != url(b) {
			t.Errorf("customer %d resumed at %s, want b", i, bx.nodes[bx.at])
		}
	}

	phase("a's customers resumed on b after SIGKILL")
	// Drain b, which stays up: its clients handshake again, are refused
	// there and resume on c.
	if out, err := b.p.RunCLI(ctx, "drain", "--url", b.p.URLs.Agent, "--token", b.p.AdminToken, "--wait", "30s"); err != nil {
		t.Fatalf("confab drain: %v\n%s", err, out)
	}
	for i, bx := range custs {
		// Told by its connects alone, before it sends anything.
		hs := bx.handshakes
		bx.until(ctx, 10*time.Second, "a new handshake with c", func() bool { return bx.handshakes > hs && bx.nodes[bx.at] == url(c) })
		text := fmt.Sprintf("c%d-after-drain", i)
		bx.send(ctx, text)
		want[bx] = append(want[bx], text)
		if bx.nodes[bx.at] != url(c) {
			t.Errorf("customer %d resumed at %s after the drain, want c", i, bx.nodes[bx.at])
		}
	}
	phase("b drained; its customers resumed on c")
	for _, bx := range custs {
		bx.checkWhole(ctx, c, want[bx])
	}
}

func nodeIDOf(t *testing.T, n *node) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(n.p.DataDir, "node.id"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
