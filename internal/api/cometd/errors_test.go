package cometd_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/api/cometd"
)

// TestBadInput: malformed batches, unknown channels, missing or foreign
// client ids and bad Chat API data get Bayeux error replies, never a 5xx.
func TestBadInput(t *testing.T) {
	h := start(t, setup{})
	b := h.client()
	b.handshake()
	raw := func(method, path, ct, body string) (int, string) {
		req, _ := http.NewRequest(method, h.url+path, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := b.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		errPrefix                string
	}{
		{"not JSON", "POST", "/genesys/cometd", `{"channel":`, 400, "400::"},
		{"empty array", "POST", "/genesys/cometd", `[]`, 400, "400::"},
		{"not an object", "POST", "/genesys/cometd", `[1,2]`, 400, "400::"},
		{"no channel", "POST", "/genesys/cometd", `[{"id":"1"}]`, 200, "400::"},
		{"bad channel", "POST", "/genesys/cometd", `[{"channel":"no/slash"}]`, 200, "400::"},
		{"bad id", "POST", "/genesys/cometd", `[{"channel":"/meta/handshake","id":{"a":1}}]`, 200, "400::"},
		{"no client id", "POST", "/genesys/cometd/connect", `[{"channel":"/meta/connect","connectionType":"long-polling"}]`, 200, "401::"},
		{"unknown client", "POST", "/genesys/cometd/connect", `[{"channel":"/meta/connect","clientId":"made-up","connectionType":"long-polling"}]`, 200, "402::Unknown client"},
		{"unknown meta", "POST", "/genesys/cometd", `[{"channel":"/meta/bogus","clientId":"` + b.id + `"}]`, 200, "400:"},
		{"bad transport", "POST", "/genesys/cometd", `[{"channel":"/meta/connect","clientId":"` + b.id + `","connectionType":"carrier-pigeon"}]`, 200, "501:"},
		{"foreign channel", "POST", "/genesys/cometd", `[{"channel":"/chat/room","clientId":"` + b.id + `","data":{}}]`, 200, "403:"},
		{"data not object", "POST", "/genesys/cometd", `[{"channel":"` + chatCh + `","clientId":"` + b.id + `","data":"x"}]`, 200, "400:"},
		{"no operation", "POST", "/genesys/cometd", `[{"channel":"` + chatCh + `","clientId":"` + b.id + `","data":{}}]`, 200, "400:"},
		{"unknown operation", "POST", "/genesys/cometd", `[{"channel":"` + chatCh + `","clientId":"` + b.id + `","data":{"operation":"dance"}}]`, 200, "400:"},
		{"array field", "POST", "/genesys/cometd", `[{"channel":"` + chatCh + `","clientId":"` + b.id + `","data":{"operation":"sendMessage","message":[1]}}]`, 200, "400:"},
		{"unknown path", "POST", "/genesys/cometd/bogus", `[]`, 404, "404:"},
		{"jsonp injection", "GET", "/genesys/cometd?jsonp=alert(1)//&message=%5B%5D", "", 400, "400:"},
		{"jsonp no callback", "GET", "/genesys/cometd?message=%5B%5D", "", 400, "400:"},
		{"jsonp no message", "GET", "/genesys/cometd?jsonp=cb", "", 400, "400:"},
		{"too large", "POST", "/genesys/cometd", `[{"channel":"/meta/handshake","ext":"` + strings.Repeat("x", 70<<10) + `"}]`, 413, "413:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := raw(tc.method, tc.path, "application/json", tc.body)
			if status != tc.status {
				t.Errorf("HTTP %d, want %d: %s", status, tc.status, body)
			}
			var out []map[string]any
			if err := json.Unmarshal([]byte(body), &out); err != nil || len(out) == 0 {
				t.Fatalf("not a Bayeux array: %v %s", err, body)
			}
			if out[0]["successful"] != false || !strings.HasPrefix(out[0]["error"].(string), tc.errPrefix) {
				t.Errorf("reply %v, want error %s…", out[0], tc.errPrefix)
			}
		})
	}
	// A Chat API call with a key that matches no chat is a delivered 401
	// answer, as over REST.
	b.publish(msg{"operation": "sendMessage", "message": "hi", "secureKey": "nope"})
	ds := deliveries(b.connect(), chatCh)
	if len(ds) != 1 || ds[0]["statusCode"] != float64(2) || !strings.Contains(string(mustJSON(ds[0])), `"code":401`) {
		t.Errorf("unauthorised call delivered %v", ds)
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// TestForeignBrowser: a client id used without, or with another, browser
// cookie is unknown.
func TestForeignBrowser(t *testing.T) {
	h := start(t, setup{})
	b := h.client()
	b.handshake()
	thief := h.client() // its own (empty) cookie jar
	thief.id = b.id
	c := find(t, thief.connect(), "/meta/connect")
	if c["error"] != "402::Unknown client" {
		t.Errorf("connect with a stolen client id: %v", c)
	}
	if h.srv.Clients() != 1 {
		t.Errorf("the owner's client was dropped")
	}
}

// TestConnectTimeoutAndExpiry: a held connect is answered after the advice
// timeout with the advice; a client that stops connecting expires after
// timeout + grace and then gets 402 with reconnect=handshake.
func TestConnectTimeoutAndExpiry(t *testing.T) {
	h := start(t, setup{opts: cometd.Options{Timeout: 20 * time.Second, Grace: 5 * time.Second}})
	b := h.client()
	r := b.handshake()
	if r["advice"].(map[string]any)["timeout"] != float64(20000) {
		t.Errorf("advice %v", r["advice"])
	}
	b.connect()
	held := b.connectAsync()
	h.waitHeld(1)
	h.fake.Advance(19 * time.Second)
	select {
	case out := <-held:
		t.Fatalf("connect answered before the timeout: %v", out)
	case <-time.After(20 * time.Millisecond):
	}
	h.fake.Advance(time.Second)
	c := find(t, await(t, held), "/meta/connect")
	if c["successful"] != true || c["advice"].(map[string]any)["reconnect"] != "retry" {
		t.Errorf("timed-out connect %v", c)
	}
	// A connect asking for timeout 0 is answered at once.
	_, out := b.send("/connect", msg{"channel": "/meta/connect", "clientId": b.id, "connectionType": "long-polling", "advice": msg{"timeout": 0}})
	if find(t, out, "/meta/connect")["successful"] != true {
		t.Errorf("connect with timeout 0: %v", out)
	}
	// Stop connecting: alive until timeout+grace has passed.
	h.fake.Advance(24 * time.Second)
	if h.srv.Clients() != 1 {
		t.Fatal("client expired early")
	}
	h.fake.Advance(time.Second)
	if h.srv.Clients() != 0 || h.srv.Stats().Expired != 1 {
		t.Fatalf("client not expired: %+v", h.srv.Stats())
	}
	c = find(t, b.connect(), "/meta/connect")
	if c["error"] != "402::Unknown client" || c["advice"].(map[string]any)["reconnect"] != "handshake" {
		t.Errorf("connect after expiry %v", c)
	}
}

// TestSwitchTransport: a client handshakes and starts its chat over
// websocket, loses the socket, and carries on over long-polling with the
// same client id, missing nothing.
func TestSwitchTransport(t *testing.T) {
	h := start(t, setup{})
	b := h.client()
	b.dial()
	b.handshake()
	b.connect()
	b.publish(msg{"operation": "requestChat", "nickname": "Ann"})
	ds := deliveries(b.connect(), chatCh)
	key := ds[0]["secureKey"].(string)
	held := b.connectAsync()
	h.waitHeld(1)
	b.undial() // the socket goes; its held connect ends
	s, _ := h.engine.Get(ds[0]["chatId"].(string))
	agent := join(t, s)
	say(t, s, agent, "still there?")
	<-held
	got := indexes(collect(t, h, b, 1)) // now over long-polling
	for len(got) < 2 {
		got = append(got, indexes(deliveries(b.connect(), chatCh))...)
	}
	if got[0] != 2 || got[1] != 3 {
		t.Errorf("after the switch delivered %v, want [2 3]", got)
	}
	b.publish(msg{"operation": "sendMessage", "message": "yes", "secureKey": key})
	if ds := deliveries(b.connect(), chatCh); len(ds) == 0 || ds[0]["statusCode"] != float64(0) {
		t.Errorf("sendMessage over long-polling after the switch: %v", ds)
	}
}

// TestRequestNotifications: after a page reload (a new handshake, same
// browser) requestNotifications from a position re-delivers from there,
// and the feed goes on from the end; transcriptPosition -1 gives the newest
// event only.
func TestRequestNotifications(t *testing.T) {
	h := start(t, setup{})
	b := h.client()
	b.handshake()
	b.connect()
	b.publish(msg{"operation": "requestChat", "firstName": "Ann", "lastName": "Lee"})
	d := deliveries(b.connect(), chatCh)[0]
	key, chatID := d["secureKey"].(string), d["chatId"].(string)
	s, _ := h.engine.Get(chatID)
	agent := join(t, s)
	say(t, s, agent, "one")
	say(t, s, agent, "two") // index 4
	// Reload: a new client of the same browser.
	r := h.client()
	r.hc.Jar = b.hc.Jar
	r.handshake()
	r.connect()
	r.publish(msg{"operation": "requestNotifications", "transcriptPosition": 3, "secureKey": key, "chatId": chatID, "userId": "", "alias": ""})
	ds := deliveries(r.connect(), chatCh)
	if got := indexes(ds); len(got) != 2 || got[0] != 3 || got[1] != 4 {
		t.Fatalf("requestNotifications from 3 delivered %v", got)
	}
	say(t, s, agent, "three")
	if got := indexes(deliveries(r.connect(), chatCh)); len(got) != 1 || got[0] != 5 {
		t.Errorf("then the feed delivered %v, want [5]", got)
	}
	// transcriptPosition 0 over CometD means everything.
	r.publish(msg{"operation": "requestNotifications", "transcriptPosition": 0, "secureKey": key})
	if got := indexes(deliveries(r.connect(), chatCh)); len(got) != 5 {
		t.Errorf("requestNotifications from 0 delivered %v, want 1..5", got)
	}
	// refresh -1: the newest only.
	n := h.client()
	n.hc.Jar = b.hc.Jar
	n.handshake()
	n.connect()
	n.publish(msg{"operation": "refresh", "transcriptPosition": -1, "secureKey": key})
	if got := indexes(deliveries(n.connect(), chatCh)); len(got) != 1 || got[0] != 5 {
		t.Errorf("refresh -1 delivered %v, want [5]", got)
	}
}

// TestSlowConsumer: a client whose queue overflows is dropped; its next
// connect gets 402 with reconnect=handshake.
func TestSlowConsumer(t *testing.T) {
	h := start(t, setup{opts: cometd.Options{MaxQueue: 2}})
	b := h.client()
	b.handshake()
	b.connect()
	for range 3 {
		b.publish(msg{"operation": "sendMessage", "message": "x", "secureKey": "none"})
	}
	out := b.connect()
	c := find(t, out, "/meta/connect")
	if c["error"] != "402::Unknown client" || c["advice"].(map[string]any)["reconnect"] != "handshake" {
		t.Errorf("connect of an overflowing client %v", c)
	}
	if len(deliveries(out, chatCh)) != 2 {
		t.Errorf("the queued answers were not delivered first: %v", out)
	}
	if st := h.srv.Stats(); st.SlowConsumers != 1 || st.Clients != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestFeedBehind: a client more than MaxBacklog events behind gets a
// resync answer and is dropped.
func TestFeedBehind(t *testing.T) {
	h := start(t, setup{webapi: webapiOptions(3)})
	b := h.client()
	b.handshake()
	b.connect()
	b.publish(msg{"operation": "requestChat", "nickname": "Ann"})
	d := deliveries(b.connect(), chatCh)[0]
	s, _ := h.engine.Get(d["chatId"].(string))
	agent := join(t, s)
	for range 5 {
		say(t, s, agent, "spam")
	}
	out := b.connect()
	ds := deliveries(out, chatCh)
	if len(ds) != 1 || ds[0]["resyncFrom"] != float64(2) || ds[0]["statusCode"] != float64(1) {
		t.Errorf("behind client got %v", ds)
	}
	if c := find(t, out, "/meta/connect"); c["error"] != "402::Unknown client" {
		t.Errorf("behind client's connect %v", c)
	}
}

// TestShutdownAnswersHeldConnects: Shutdown answers a held connect with
// reconnect=handshake.
func TestShutdownAnswersHeldConnects(t *testing.T) {
	h := start(t, setup{})
	b := h.client()
	b.handshake()
	b.connect()
	held := b.connectAsync()
	h.waitHeld(1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.srv.Shutdown(ctx)
	c := find(t, await(t, held), "/meta/connect")
	if c["advice"].(map[string]any)["reconnect"] != "handshake" {
		t.Errorf("connect at shutdown %v", c)
	}
}
