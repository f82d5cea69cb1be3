package cometd_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/api/cometd"
	"github.com/confab/confab/internal/config"
)

// TestChatCreationRateOverCometD checks that chats started over Bayeux are
// charged to the client's chat-create-rate as REST's are, on both
// transports.
func TestChatCreationRateOverCometD(t *testing.T) {
	for _, ws := range []bool{false, true} {
		h := start(t, setup{})
		cfg, _, err := config.Parse("t.ini", []byte("[protection]\nchat-create-rate = 1\nchat-create-burst = 2\n"))
		if err != nil {
			t.Fatal(err)
		}
		h.cfg.Store(cfg)
		b := h.client()
		if ws {
			b.dial()
		}
		b.handshake()
		b.connect()
		var answers []string
		for range 3 {
			b.publish(msg{"operation": "requestChat", "nickname": "Ann"})
			for _, d := range deliveries(b.connect(), chatCh) {
				j, _ := json.Marshal(d)
				answers = append(answers, string(j))
			}
		}
		if len(answers) != 3 || strings.Contains(answers[1], `"code":429`) || !strings.Contains(answers[2], `"code":429`) {
			t.Errorf("websocket %v: answers %v, want two chats then a 429", ws, answers)
		}
	}
}

// setProtection stores a configuration with these [protection] lines.
func (h *harness) setProtection(t *testing.T, lines string) {
	t.Helper()
	cfg, _, err := config.Parse("t.ini", []byte("[protection]\n"+lines))
	if err != nil {
		t.Fatal(err)
	}
	h.cfg.Store(cfg)
}

// tryHandshake sends a handshake and returns its reply, successful or not.
func (b *bc) tryHandshake() msg {
	b.h.t.Helper()
	_, out := b.send("/handshake", msg{"channel": "/meta/handshake", "version": "1.0", "id": b.nextID(),
		"supportedConnectionTypes": []string{"websocket", "long-polling", "callback-polling"}})
	r := find(b.h.t, out, "/meta/handshake")
	if r["successful"] == true {
		b.id = r["clientId"].(string)
	}
	return r
}

// refusedHandshake reports whether r is the documented refusal: error 429,
// advice to handshake again after a minute.
func refusedHandshake(r msg) bool {
	adv, _ := r["advice"].(map[string]any)
	e, _ := r["error"].(string)
	return r["successful"] == false && strings.HasPrefix(e, "429:") &&
		adv["reconnect"] == "handshake" && adv["interval"] == float64(60000)
}

// TestHandshakeRate reproduces a script handshaking without end from one
// address: past cometd-handshake-burst it is refused with 429 until the
// fake clock refills the bucket (cometd-handshake-rate per minute), on
// both transports.
func TestHandshakeRate(t *testing.T) {
	for _, ws := range []bool{false, true} {
		h := start(t, setup{})
		h.setProtection(t, "cometd-handshake-rate = 6\ncometd-handshake-burst = 3\ncometd-clients-per-address = 0\n")
		b := h.client()
		if ws {
			b.dial()
		}
		for i := range 3 {
			if r := b.tryHandshake(); r["successful"] != true {
				t.Fatalf("websocket %v: handshake %d within the burst: %v", ws, i, r)
			}
		}
		if r := b.tryHandshake(); !refusedHandshake(r) {
			t.Fatalf("websocket %v: handshake past the burst: %v, want the 429 refusal", ws, r)
		}
		h.fake.Advance(10 * time.Second) // 6 a minute: one token
		if r := b.tryHandshake(); r["successful"] != true {
			t.Fatalf("websocket %v: handshake after 10 s: %v", ws, r)
		}
		if r := b.tryHandshake(); !refusedHandshake(r) {
			t.Fatalf("websocket %v: second handshake after 10 s: %v", ws, r)
		}
	}
}

// TestClientsPerAddress: one address holds at most
// cometd-clients-per-address live clients; one that disconnects (or
// expires) frees its place.
func TestClientsPerAddress(t *testing.T) {
	h := start(t, setup{})
	h.setProtection(t, "cometd-handshake-rate = 0\ncometd-clients-per-address = 2\n")
	a, b, c := h.client(), h.client(), h.client()
	a.handshake()
	b.handshake()
	if r := c.tryHandshake(); !refusedHandshake(r) {
		t.Fatalf("third live client of one address: %v, want the 429 refusal", r)
	}
	if n := h.srv.Clients(); n != 2 {
		t.Fatalf("%d live clients, want 2", n)
	}
	a.send("/disconnect", msg{"channel": "/meta/disconnect", "clientId": a.id, "id": a.nextID()})
	if r := c.tryHandshake(); r["successful"] != true {
		t.Fatalf("handshake after one disconnected: %v", r)
	}
	// b expires (no connect): its place is freed too.
	h.fake.Advance(cometd.DefaultTimeout + cometd.DefaultGrace + time.Second)
	if r := a.tryHandshake(); r["successful"] != true {
		t.Fatalf("handshake after one expired: %v", r)
	}
}

// TestFollowersPerCustomer reproduces one chat's credentials opening
// client after client: past push-connections-per-party the oldest client
// following the customer is replaced, its held connect answered with 409
// and advice reconnect none, and it is gone.
func TestFollowersPerCustomer(t *testing.T) {
	h := start(t, setup{})
	h.setProtection(t, "cometd-handshake-rate = 0\ncometd-clients-per-address = 0\npush-connections-per-party = 2\n")
	first := h.client()
	first.handshake()
	first.connect()
	first.publish(msg{"operation": "requestChat", "nickname": "Ann"})
	d := deliveries(first.connect(), chatCh)[0]
	key, chatID := d["secureKey"].(string), d["chatId"].(string)
	held := first.connectAsync()
	h.waitHeld(1)
	var others []*bc
	for range 2 {
		o := h.client()
		o.hc.Jar = first.hc.Jar
		o.handshake()
		o.connect()
		o.publish(msg{"operation": "requestNotifications", "transcriptPosition": 1, "secureKey": key, "chatId": chatID, "userId": "", "alias": ""})
		if ds := deliveries(o.connect(), chatCh); len(ds) == 0 {
			t.Fatal("a follower got nothing")
		}
		others = append(others, o)
	}
	r := find(t, await(t, held), "/meta/connect")
	adv, _ := r["advice"].(map[string]any)
	if e, _ := r["error"].(string); r["successful"] != false || !strings.HasPrefix(e, "409:") || adv["reconnect"] != "none" {
		t.Fatalf("the oldest follower's held connect: %v, want 409 with reconnect none", r)
	}
	if st := h.srv.Stats(); st.Replaced != 1 || st.Clients != 2 {
		t.Fatalf("stats %+v, want 1 replaced and 2 live", st)
	}
	// The two newest still follow the chat.
	s, _ := h.engine.Get(chatID)
	say(t, s, join(t, s), "still here?")
	for i, o := range others {
		if ds := deliveries(o.connect(), chatCh); len(ds) == 0 {
			t.Errorf("follower %d got nothing after the replacement", i)
		}
	}
}
