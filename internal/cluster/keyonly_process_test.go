package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/client/chatv2"
)

// keyClient is a CometD client that sends its secure key alone, as the
// Java SDK does (no chatId, no userId), and uploads and downloads files
// through /genesys/2/chat-ntf with its BAYEUX_BROWSER cookie, as both
// widgets do in CometD mode. It keeps every delivery's raw body.
type keyClient struct {
	t        *testing.T
	base     string // the node's webapi base URL
	hc       *http.Client
	clientID string
	got      []json.RawMessage // deliveries on the service channel
}

const keyChannel = "/service/chatV2/" + service

func newKeyClient(t *testing.T, ctx context.Context, base string) *keyClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	k := &keyClient{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 5 * time.Second}}
	r := k.post(ctx, bmsg{Channel: "/meta/handshake", Version: "1.0", Types: []string{"long-polling"}, ID: "h"})
	if len(r) != 1 || r[0].Successful == nil || !*r[0].Successful {
		t.Fatalf("handshake with %s: %+v", base, r)
	}
	k.clientID = r[0].ClientID
	k.post(ctx, bmsg{Channel: "/meta/subscribe", ClientID: k.clientID, Subscription: keyChannel, ID: "s"})
	return k
}

// post sends one batch, keeps its deliveries and returns the other replies.
func (k *keyClient) post(ctx context.Context, batch ...bmsg) []bmsg {
	k.t.Helper()
	body, _ := json.Marshal(batch)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, k.base+"/genesys/cometd", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := k.hc.Do(req)
	if err != nil {
		k.t.Fatalf("cometd post to %s: %v", k.base, err)
	}
	defer resp.Body.Close()
	var out []bmsg
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		k.t.Fatalf("cometd answer (HTTP %d): %v", resp.StatusCode, err)
	}
	var replies []bmsg
	for _, m := range out {
		if m.Channel == keyChannel && m.Data != nil {
			k.got = append(k.got, m.Data)
			continue
		}
		replies = append(replies, m)
	}
	return replies
}

// op publishes one operation carrying secureKey only and returns the
// delivered answer.
func (k *keyClient) op(ctx context.Context, data map[string]any) json.RawMessage {
	k.t.Helper()
	raw, _ := json.Marshal(data)
	from := len(k.got)
	r := k.post(ctx, bmsg{Channel: keyChannel, ClientID: k.clientID, Data: raw, ID: "p"})
	if len(r) != 1 || r[0].Successful == nil || !*r[0].Successful {
		k.t.Fatalf("publish %s at %s: %+v", raw, k.base, r)
	}
	timeout := 200
	for deadline := time.Now().Add(5 * time.Second); len(k.got) == from; {
		if time.Now().After(deadline) {
			k.t.Fatalf("no answer to %s at %s", raw, k.base)
		}
		k.post(ctx, bmsg{Channel: "/meta/connect", ClientID: k.clientID, Conn: "long-polling", ID: "c",
			Advice: &struct {
				Reconnect string `json:"reconnect,omitempty"`
				Timeout   *int   `json:"timeout,omitempty"`
			}{Timeout: &timeout}})
	}
	return k.got[from]
}

// ntf runs one /genesys/2/chat-ntf operation (the fields in order, then
// the file if any) and returns the HTTP status and body.
func (k *keyClient) ntf(ctx context.Context, fields [][2]string, file string) (int, string) {
	k.t.Helper()
	return k.ntfAt(ctx, k.base, fields, file)
}

// ntfAt is ntf sent to another node's webapi base URL (the client's
// cookies go along: they are the host's, whatever the port).
func (k *keyClient) ntfAt(ctx context.Context, base string, fields [][2]string, file string) (int, string) {
	k.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range fields {
		w.WriteField(f[0], f[1])
	}
	if file != "" {
		fw, _ := w.CreateFormFile("file", "note.txt")
		io.WriteString(fw, file)
	}
	w.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/genesys/2/chat-ntf", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := k.hc.Do(req)
	if err != nil {
		k.t.Fatalf("chat-ntf at %s: %v", k.base, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func statusOf(t *testing.T, body json.RawMessage) int {
	t.Helper()
	var b struct {
		StatusCode int `json:"statusCode"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	return b.StatusCode
}

// TestSecureKeyOnlyInACluster: on two real nodes on one PostgreSQL, the
// operations that find a chat by its secure key alone work on the node
// that does not own the chat: a CometD publish without chatId (the Java
// SDK's) takes the chat from its live owner, a /genesys/2/chat-ntf upload
// and a download do too; the chat-ntf requests of a client sent to the
// other node (no cookie stickiness) are forwarded to its node; and after
// the owner is killed with SIGKILL a
// key-only publish restores the chat on the survivor. A wrong key is
// refused on the other node with exactly the answer the owner gives, and
// moves nothing. Every message is stored once.
func TestSecureKeyOnlyInACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	began := time.Now()
	phase := func(what string) { t.Logf("%v: %s", time.Since(began).Round(time.Millisecond), what) }
	nodes, _, dsn := startCluster(t, ctx, 2, 0, "[client-file-transfer]\nupload-need-agent = false")
	a, b := nodes[0], nodes[1]
	url := func(n *node) string { return n.p.URLs.WebAPI }
	phase("2 nodes up")

	// A chat started over CometD on a.
	bx := newBayeux(t, url(a))
	if err := bx.start(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := bx.publish(ctx, map[string]any{"operation": "requestChat", "nickname": "Kay"}); err != nil || !ok {
		t.Fatalf("requestChat: %v %v", ok, err)
	}
	bx.until(ctx, 10*time.Second, "the requestChat answer", func() bool { return bx.chatID != "" })
	bx.send(ctx, "k-on-a")
	key, chatID := bx.secureKey, bx.chatID
	if n, _ := owner(t, ctx, dsn, chatID); n != nodeIDOf(t, a) {
		t.Fatalf("chat %s owned by %s, want a", chatID, n)
	}

	// A wrong key: b answers what a, the owner, answers, and nothing moves.
	wrong := "not-" + key
	onA, onB := newKeyClient(t, ctx, url(a)), newKeyClient(t, ctx, url(b))
	wantPub := onA.op(ctx, map[string]any{"operation": "sendMessage", "message": "wrong", "secureKey": wrong})
	gotPub := onB.op(ctx, map[string]any{"operation": "sendMessage", "message": "wrong", "secureKey": wrong})
	if statusOf(t, wantPub) != 2 || !bytes.Equal(gotPub, wantPub) {
		t.Errorf("key-only publish with a wrong key: b answered %s, a (the owner) %s; want the same refusal", gotPub, wantPub)
	}
	for _, op := range [][][2]string{
		{{"operation", "fileGetLimits"}, {"secureKey", wrong}},
		{{"operation", "fileDownload"}, {"secureKey", wrong}, {"fileId", "x"}},
	} {
		wc, wb := onA.ntf(ctx, op, "")
		gc, gb := onB.ntf(ctx, op, "")
		if gc != wc || gb != wb || !strings.Contains(wb, `"statusCode":2`) {
			t.Errorf("chat-ntf %s with a wrong key: b answered %d %s, a %d %s; want the same refusal", op[0][1], gc, gb, wc, wb)
		}
	}
	wc, wb := onA.ntf(ctx, [][2]string{{"operation", "fileUpload"}, {"secureKey", wrong}}, "sneaky")
	gc, gb := onB.ntf(ctx, [][2]string{{"operation", "fileUpload"}, {"secureKey", wrong}}, "sneaky")
	if gc != wc || gb != wb || !strings.Contains(wb, `"statusCode":2`) {
		t.Errorf("chat-ntf fileUpload with a wrong key: b answered %d %s, a %d %s; want the same refusal", gc, gb, wc, wb)
	}
	if n, _ := owner(t, ctx, dsn, chatID); n != nodeIDOf(t, a) {
		t.Fatalf("chat %s owned by %s after wrong keys through b, want a", chatID, n)
	}
	phase("wrong keys refused alike")

	// The key alone, through b: b takes the chat from live a.
	ans := onB.op(ctx, map[string]any{"operation": "sendMessage", "message": "k-on-b", "secureKey": key})
	if statusOf(t, ans) != 0 {
		t.Fatalf("key-only sendMessage through b: %s", ans)
	}
	if n, _ := owner(t, ctx, dsn, chatID); n != nodeIDOf(t, b) {
		t.Errorf("chat %s owned by %s after a key-only publish through b, want b", chatID, n)
	}
	ans = onB.op(ctx, map[string]any{"operation": "requestNotifications", "secureKey": key, "transcriptPosition": 1})
	if statusOf(t, ans) != 0 || !strings.Contains(string(ans), "k-on-b") {
		t.Errorf("key-only requestNotifications through b: %s", ans)
	}
	phase("key-only publish took the chat to b")

	// chat-ntf through a, which no longer owns the chat: the upload takes
	// it back, by the key alone.
	up := newKeyClient(t, ctx, url(a))
	code, body := up.ntf(ctx, [][2]string{{"operation", "fileUpload"}, {"secureKey", key}}, "hello across nodes")
	var upAns struct {
		StatusCode int `json:"statusCode"`
		UserData   struct {
			FileID string `json:"file-id"`
		} `json:"userData"`
	}
	if json.Unmarshal([]byte(body), &upAns); code != 200 || upAns.StatusCode != 0 || upAns.UserData.FileID == "" {
		t.Fatalf("chat-ntf fileUpload through a: HTTP %d %s", code, body)
	}
	if n, _ := owner(t, ctx, dsn, chatID); n != nodeIDOf(t, a) {
		t.Errorf("chat %s owned by %s after a chat-ntf upload through a, want a", chatID, n)
	}
	// And the download through b, which lost it again.
	down := newKeyClient(t, ctx, url(b))
	code, body = down.ntf(ctx, [][2]string{{"operation", "fileDownload"}, {"secureKey", key}, {"fileId", upAns.UserData.FileID}}, "")
	if code != 200 || body != "hello across nodes" {
		t.Fatalf("chat-ntf fileDownload through b: HTTP %d %q", code, body)
	}
	if n, _ := owner(t, ctx, dsn, chatID); n != nodeIDOf(t, b) {
		t.Errorf("chat %s owned by %s after a chat-ntf download through b, want b", chatID, n)
	}
	phase("chat-ntf upload through a, download through b")

	// A balancer that does not keep the BAYEUX_BROWSER cookie on one node
	// sends the chat-ntf requests of b's client to a: a forwards them to b,
	// where the client and its chat live, and the chat stays there.
	code, body = down.ntfAt(ctx, url(a), [][2]string{{"operation", "fileUpload"}, {"secureKey", key}}, "second file")
	if json.Unmarshal([]byte(body), &upAns); code != 200 || upAns.StatusCode != 0 || upAns.UserData.FileID == "" {
		t.Fatalf("chat-ntf fileUpload of b's client through a: HTTP %d %s", code, body)
	}
	code, body = down.ntfAt(ctx, url(a), [][2]string{{"operation", "fileDownload"}, {"secureKey", key}, {"fileId", upAns.UserData.FileID}}, "")
	if code != 200 || body != "second file" {
		t.Fatalf("chat-ntf fileDownload of b's client through a: HTTP %d %q", code, body)
	}
	if n, _ := owner(t, ctx, dsn, chatID); n != nodeIDOf(t, b) {
		t.Errorf("chat %s owned by %s after b's client's chat-ntf through a, want b (forwarded)", chatID, n)
	}
	// A wrong key is not forwarded: a answers as to any client it does not
	// know, with or without a chat behind the key.
	stranger := &keyClient{t: t, base: url(a), hc: &http.Client{Timeout: 5 * time.Second}}
	wc, wb = stranger.ntf(ctx, [][2]string{{"operation", "fileGetLimits"}, {"secureKey", wrong}}, "")
	gc, gb = down.ntfAt(ctx, url(a), [][2]string{{"operation", "fileGetLimits"}, {"secureKey", wrong}, {"chatId", chatID}}, "")
	if wc != http.StatusForbidden || gc != wc || gb != wb {
		t.Errorf("chat-ntf with a wrong key through a from b's client: %d %s; want %d %s as for a client a does not know", gc, gb, wc, wb)
	}
	phase("chat-ntf of b's client through a forwarded to b")

	// b dies: the key alone restores the chat on a at once.
	b.p.Kill()
	survivor := newKeyClient(t, ctx, url(a))
	ans = survivor.op(ctx, map[string]any{"operation": "sendMessage", "message": "k-after-kill", "secureKey": key})
	if statusOf(t, ans) != 0 {
		t.Fatalf("key-only sendMessage through a after b's SIGKILL: %s", ans)
	}
	if n, _ := owner(t, ctx, dsn, chatID); n != nodeIDOf(t, a) {
		t.Errorf("chat %s owned by %s after b died, want a", chatID, n)
	}
	phase("key-only publish restored the chat on a after SIGKILL of b")

	rest := a.cc.Resume(service, chatID, bx.userID, key, bx.alias)
	resp, err := rest.Refresh(ctx, 1)
	if err != nil || resp.StatusCode != 0 {
		t.Fatalf("refresh: %+v %v", resp, err)
	}
	stored := map[string]int{}
	for _, m := range resp.Messages {
		if m.Type == chatv2.TypeMessage {
			stored[m.Text]++
		}
	}
	for _, w := range []string{"k-on-a", "k-on-b", "k-after-kill"} {
		if stored[w] != 1 {
			t.Errorf("%q stored %d times, want once (transcript %v)", w, stored[w], stored)
		}
	}
	if stored["wrong"] != 0 {
		t.Errorf("a message sent with a wrong key was stored")
	}
}
