package cometd_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/confab/confab/internal/api/cometd"
)

// chatOf starts a chat over b and returns its delivery (keys, chatId).
func chatOf(t *testing.T, b *bc) map[string]any {
	t.Helper()
	b.handshake()
	b.connect()
	b.subscribe(chatCh)
	if p := b.publish(msg{"operation": "requestChat", "nickname": "Ann"}); p["successful"] != true {
		t.Fatalf("publish requestChat %v", p)
	}
	ds := deliveries(b.connect(), chatCh)
	if len(ds) != 1 || ds[0]["statusCode"] != float64(0) {
		t.Fatalf("requestChat delivery %v", ds)
	}
	return ds[0]
}

// connectFailure returns the failed connect reply in out.
func connectFailure(t *testing.T, out []msg) (string, string) {
	t.Helper()
	r := find(t, out, "/meta/connect")
	if r["successful"] != false {
		t.Fatalf("connect answered %v, want a failure", r)
	}
	adv, _ := r["advice"].(map[string]any)
	reconnect, _ := adv["reconnect"].(string)
	e, _ := r["error"].(string)
	return e, reconnect
}

// TestClusterHooks: in a cluster, each operation naming a chat asks Locate
// first (with the chat id); a chat the node lost drops its clients with
// advice handshake (Moved) or replaces them for good (Taken: 409, advice
// none, for their later requests too); a node that drains refuses
// requestChat, and handshakes too when it drains into other nodes; a client
// whose chat is elsewhere is sent to handshake again.
func TestClusterHooks(t *testing.T) {
	var mu sync.Mutex
	var located []string
	var elsewhere, draining, handing atomic.Bool
	var failLocate atomic.Bool
	h := start(t, setup{opts: cometd.Options{
		Locate: func(ctx context.Context, chatID, secureKey string) (bool, error) {
			mu.Lock()
			located = append(located, chatID+" "+secureKey)
			mu.Unlock()
			if failLocate.Load() {
				return false, errors.New("store down")
			}
			return elsewhere.Load(), nil
		},
		Draining:    draining.Load,
		HandingOver: handing.Load,
	}})

	b := h.client()
	d := chatOf(t, b)
	chatID, key, uid := d["chatId"].(string), d["secureKey"].(string), d["userId"].(string)
	mu.Lock()
	if len(located) != 0 {
		t.Errorf("requestChat located %v; it names no chat", located)
	}
	mu.Unlock()
	op := func(c *bc, name string) msg {
		return c.publish(msg{"operation": name, "chatId": chatID, "userId": uid, "secureKey": key, "message": "hi"})
	}
	for _, name := range []string{"sendMessage", "startTyping", "stopTyping", "customNotice", "requestNotifications", "updateData"} {
		if p := op(b, name); p["successful"] != true {
			t.Fatalf("%s: %v", name, p)
		}
	}
	mu.Lock()
	if len(located) != 6 || located[0] != chatID+" "+key {
		t.Errorf("Locate saw %v, want the chat id and its secure key once per operation (6)", located)
	}
	mu.Unlock()

	// The store cannot say where the chat is: the answer says to try again.
	failLocate.Store(true)
	if p := op(b, "sendMessage"); p["successful"] != true {
		t.Fatalf("publish while unlocated: %v", p)
	}
	// The queued answers come first, then any batch of the feed: look for
	// the refusal among them.
	ds := deliveries(b.connect(), chatCh)
	unlocated := 0
	for _, d := range ds {
		if errs, _ := d["errors"].([]any); d["statusCode"] == float64(1) && len(errs) == 1 && strings.Contains(errs[0].(map[string]any)["advice"].(string), "located") {
			unlocated++
		}
	}
	if unlocated != 1 {
		t.Errorf("%d unlocated answers in %v, want 1", unlocated, ds)
	}
	failLocate.Store(false)

	// Moved: the held connect is told to handshake again.
	held := b.connectAsync()
	h.waitHeld(1)
	if n := h.srv.Moved(chatID); n != 1 {
		t.Fatalf("Moved dropped %d clients, want 1", n)
	}
	if e, rc := connectFailure(t, await(t, held)); !strings.HasPrefix(e, "402") || rc != "handshake" {
		t.Errorf("moved client's connect: %q advice %q, want 402 and handshake", e, rc)
	}
	if h.srv.Stats().Moved != 1 {
		t.Errorf("stats %+v, want 1 moved", h.srv.Stats())
	}

	// It comes back and follows again; Taken replaces it, and its later
	// requests hear the same (409, none) rather than being invited back.
	b.handshake()
	b.connect()
	b.subscribe(chatCh)
	if p := op(b, "requestNotifications"); p["successful"] != true {
		t.Fatal(p)
	}
	b.connect()
	if n := h.srv.Taken(chatID); n != 1 {
		t.Fatalf("Taken replaced %d clients, want 1", n)
	}
	if e, rc := connectFailure(t, b.connect()); !strings.HasPrefix(e, "409") || rc != "none" {
		t.Errorf("taken client's connect: %q advice %q, want 409 and none", e, rc)
	}

	// Elsewhere (this node drains and does not hold the chat): the publish
	// is refused with advice handshake and the client is gone.
	c := h.client()
	c.handshake()
	c.connect()
	c.subscribe(chatCh)
	elsewhere.Store(true)
	if p := op(c, "sendMessage"); p["successful"] != false || !strings.HasPrefix(p["error"].(string), "402") || p["advice"].(map[string]any)["reconnect"] != "handshake" {
		t.Errorf("publish for a chat elsewhere: %v", p)
	}
	if e, rc := connectFailure(t, c.connect()); !strings.HasPrefix(e, "402") || rc != "handshake" {
		t.Errorf("connect after elsewhere: %q %q", e, rc)
	}

	// Draining alone: its clients may come back (it keeps its chats).
	draining.Store(true)
	h.client().handshake()
	// Draining into other nodes: no new clients either.
	handing.Store(true)
	e := h.client()
	_, out := e.send("/handshake", msg{"channel": "/meta/handshake", "version": "1.0", "id": "1", "supportedConnectionTypes": []string{"long-polling"}})
	r := find(t, out, "/meta/handshake")
	if r["successful"] != false || !strings.HasPrefix(r["error"].(string), "503") || r["advice"].(map[string]any)["reconnect"] != "handshake" {
		t.Errorf("handshake on a draining node: %v", r)
	}
	handing.Store(false)
	f := h.client()
	f.handshake()
	f.connect()
	f.subscribe(chatCh)
	if p := f.publish(msg{"operation": "requestChat", "nickname": "Bo"}); p["successful"] != true {
		t.Fatal(p)
	}
	ds = deliveries(f.connect(), chatCh)
	if len(ds) != 1 || ds[0]["statusCode"] != float64(1) || !strings.Contains(ds[0]["errors"].([]any)[0].(map[string]any)["advice"].(string), "draining") {
		t.Errorf("requestChat on a draining node: %v", ds)
	}
}
