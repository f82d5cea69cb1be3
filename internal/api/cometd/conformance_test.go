package cometd_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/confab/confab/internal/api/cometd"
	"github.com/confab/confab/internal/chat"
)

// transports runs body once per transport.
func transports(t *testing.T, body func(t *testing.T, h *harness, b *bc)) {
	for _, tr := range []string{"long-polling", "callback-polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			h := start(t, setup{})
			b := h.client()
			switch tr {
			case "websocket":
				b.dial()
			case "callback-polling":
				b.jsnp = true
			}
			body(t, h, b)
		})
	}
}

func TestHandshake(t *testing.T) {
	transports(t, func(t *testing.T, h *harness, b *bc) {
		r := b.handshake()
		if r["version"] != "1.0" || len(b.id) < 32 {
			t.Errorf("handshake reply %v", r)
		}
		adv, _ := r["advice"].(map[string]any)
		if adv["reconnect"] != "retry" || adv["timeout"] != float64(30000) || adv["interval"] != float64(0) {
			t.Errorf("advice %v", adv)
		}
		types, _ := r["supportedConnectionTypes"].([]any)
		if len(types) != 3 {
			t.Errorf("supportedConnectionTypes %v", types)
		}
		u, _ := http.NewRequest(http.MethodGet, h.url, nil)
		if ck := b.hc.Jar.Cookies(u.URL); len(ck) != 1 || ck[0].Name != cometd.BrowserCookie {
			t.Errorf("cookies after handshake: %v", ck)
		}
		other := h.client()
		other.hc.Jar = b.hc.Jar
		other.ws, other.jsnp = b.ws, b.jsnp
		other.handshake()
		if other.id == b.id {
			t.Error("two handshakes got the same client id")
		}
	})
}

func TestMetaChannels(t *testing.T) {
	transports(t, func(t *testing.T, h *harness, b *bc) {
		b.handshake()
		// The first connect is answered at once, with the advice.
		out := b.connect()
		c := find(t, out, "/meta/connect")
		if c["successful"] != true || c["advice"].(map[string]any)["reconnect"] != "retry" {
			t.Errorf("first connect %v", c)
		}
		if s := b.subscribe(chatCh); s["successful"] != true || s["subscription"] != chatCh {
			t.Errorf("subscribe %v", s)
		}
		if s := b.subscribe("/chat/other"); s["successful"] != false || !strings.HasPrefix(s["error"].(string), "403:") {
			t.Errorf("subscribe to a foreign channel %v", s)
		}
		_, out = b.send("/unsubscribe", msg{"channel": "/meta/unsubscribe", "clientId": b.id, "subscription": chatCh, "id": b.nextID()})
		if u := find(t, out, "/meta/unsubscribe"); u["successful"] != true {
			t.Errorf("unsubscribe %v", u)
		}
		_, out = b.send("/disconnect", msg{"channel": "/meta/disconnect", "clientId": b.id, "id": b.nextID()})
		if d := find(t, out, "/meta/disconnect"); d["successful"] != true {
			t.Errorf("disconnect %v", d)
		}
		if h.srv.Clients() != 0 {
			t.Errorf("%d clients after disconnect", h.srv.Clients())
		}
		// After the disconnect the id is unknown: 402 with handshake advice.
		c = find(t, b.connect(), "/meta/connect")
		if c["successful"] != false || c["error"] != "402::Unknown client" || c["advice"].(map[string]any)["reconnect"] != "handshake" {
			t.Errorf("connect after disconnect %v", c)
		}
	})
}

// TestChatDialogue runs the Chat API v2 over each transport: request chat,
// messages both ways, typing, disconnect. Each event is delivered once, in
// order, and each delivery is a REST body.
func TestChatDialogue(t *testing.T) {
	transports(t, func(t *testing.T, h *harness, b *bc) {
		b.handshake()
		b.connect()
		b.subscribe(chatCh)
		if p := b.publish(msg{"operation": "requestChat", "nickname": "Ann", "userData": msg{"GCTI_LanguageCode": "en"},
			"secureKey": "", "userId": "", "alias": "", "chatId": ""}); p["successful"] != true {
			t.Fatalf("publish requestChat %v", p)
		}
		out := b.connect() // the answer is queued: a held connect returns at once
		ds := deliveries(out, chatCh)
		if len(ds) != 1 || ds[0]["statusCode"] != float64(0) || ds[0]["secureKey"] == nil {
			t.Fatalf("requestChat delivery %v", out)
		}
		key, chatID := ds[0]["secureKey"].(string), ds[0]["chatId"].(string)
		if got := indexes(ds); len(got) != 1 || got[0] != 1 {
			t.Errorf("requestChat delivered indexes %v, want [1]", got)
		}
		s, err := h.engine.Get(chatID)
		if err != nil {
			t.Fatal(err)
		}
		if ud := s.Info().UserData; ud.String("GCTI_LanguageCode") != "en" {
			t.Errorf("userData not attached: %v", ud)
		}
		// An agent joins and writes while a connect is held.
		held := b.connectAsync()
		h.waitHeld(1)
		agent, rc, err := s.Join(chat.JoinRequest{Nick: "Anna", Type: chat.Agent, Protocol: chat.Basic})
		if err != nil {
			t.Fatal(err)
		}
		rc.Wait(context.Background())
		rc, _ = s.Send(agent.UserID, chat.Msg{Text: "Hello, how can I help?"})
		rc.Wait(context.Background())
		var got []int
		var bodies []map[string]any
		for len(got) < 2 {
			ds := deliveries(await(t, held), chatCh)
			bodies = append(bodies, ds...)
			got = append(got, indexes(ds)...)
			if len(got) < 2 {
				held = b.connectAsync()
			}
		}
		if len(got) != 2 || got[0] != 2 || got[1] != 3 {
			t.Fatalf("agent events delivered as %v, want [2 3]", got)
		}
		last := bodies[len(bodies)-1]
		if last["chatEnded"] != false || last["secureKey"] != key {
			t.Errorf("delivery body %v", last)
		}
		// The delivery is exactly the REST refresh body from index 2 (the
		// same handlers wrote both).
		rest := h.api.Call(context.Background(), restRefresh(key, 2))
		var rb map[string]any
		json.Unmarshal(rest.Body, &rb)
		if !sameMessages(rb, bodies) {
			t.Errorf("deliveries %v differ from REST refresh %s", bodies, rest.Body)
		}
		// The customer types and sends.
		for _, op := range []msg{
			{"operation": "startTyping", "message": "I need", "secureKey": key},
			{"operation": "sendMessage", "message": "I need help", "messageType": "text", "secureKey": key, "chatId": chatID},
			{"operation": "customNotice", "message": "", "eventAttributes": msg{"purpose": "cancel-idle-timer"}, "secureKey": key},
			{"operation": "updateData", "userData": msg{"orderId": "42"}, "secureKey": key},
		} {
			if p := b.publish(op); p["successful"] != true {
				t.Fatalf("publish %v: %v", op["operation"], p)
			}
		}
		evs, _, _, _ := s.Read(agent.UserID, 0, nil)
		if last := evs[len(evs)-2]; last.Kind != chat.Message || last.Text != "I need help" {
			t.Errorf("agent sees %+v", last)
		}
		if s.Info().UserData.String("orderId") != "42" {
			t.Error("updateData not applied")
		}
		// Every answer is a delivery; the events come once each.
		seen := map[int]bool{}
		for _, ds := range collect(t, h, b, 4) {
			for _, i := range indexes([]map[string]any{ds}) {
				if seen[i] {
					t.Errorf("index %d delivered twice", i)
				}
				seen[i] = true
			}
		}
		for i := 4; i <= 6; i++ { // typing, message, custom notice
			if !seen[i] {
				t.Errorf("index %d never delivered (seen %v)", i, seen)
			}
		}
		// Disconnect: the chat ends for the customer.
		b.publish(msg{"operation": "disconnect", "secureKey": key})
		ended := false
		for _, d := range collect(t, h, b, 1) {
			if d["chatEnded"] == true {
				ended = true
			}
		}
		if !ended {
			t.Error("no delivery with chatEnded true after disconnect")
		}
	})
}

// collect gathers at least n deliveries with data on the chat channel.
func collect(t *testing.T, h *harness, b *bc, n int) []map[string]any {
	t.Helper()
	var ds []map[string]any
	for len(ds) < n {
		ds = append(ds, deliveries(b.connect(), chatCh)...)
	}
	return ds
}

func restRefresh(key string, from int) webapiCall {
	return webapiCall{Operation: "refresh", Fields: []webapiField{{Name: "secureKey", Value: key}, {Name: "transcriptPosition", Value: itoa(from)}}}
}

// sameMessages reports whether the messages of the deliveries are those of
// the REST body.
func sameMessages(rest map[string]any, bodies []map[string]any) bool {
	var all []any
	for _, b := range bodies {
		ms, _ := b["messages"].([]any)
		all = append(all, ms...)
	}
	a, _ := json.Marshal(all)
	r, _ := json.Marshal(rest["messages"])
	return string(a) == string(r)
}
