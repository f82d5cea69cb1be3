package webapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
)

// createFrom posts request chat with an X-Forwarded-For header (none when
// xff is "") and returns the HTTP status.
func createFrom(t *testing.T, h *harness, xff string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.base+"/customer-support", strings.NewReader("nickname=Ann"))
	req.Header.Set("Content-Type", formType)
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	return h.do(req)
}

// TestChatCreationRate reproduces the attack of issue 12 (one client
// creating chats as fast as it can) and checks the per-address bucket on
// the fake clock, with X-Forwarded-For believed only from trusted proxies.
func TestChatCreationRate(t *testing.T) {
	for _, tc := range []struct {
		name, trusted string
		perAddress    bool // X-Forwarded-For separates clients
	}{
		{"direct clients", "", false},
		{"behind a trusted proxy", "127.0.0.1, 10.0.0.0/8", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := clock.NewFake(epoch)
			cfg := configWith(t, "[protection]\nchat-create-rate = 6\nchat-create-burst = 3\ntrusted-proxies = "+tc.trusted+"\n")
			h := startAPI(t, cfg, fake, webapi.Options{})
			for i := range 3 {
				if status, got := createFrom(t, h, "198.51.100.1"); status != 200 {
					t.Fatalf("chat %d within the burst: %d %s", i, status, got)
				}
			}
			status, got := createFrom(t, h, "198.51.100.1")
			if status != http.StatusTooManyRequests || !strings.Contains(string(got), `"code":429`) {
				t.Fatalf("chat past the burst: %d %s", status, got)
			}
			status, _ = createFrom(t, h, "198.51.100.2")
			if tc.perAddress != (status == 200) {
				t.Fatalf("another forwarded address: HTTP %d (forwarded addresses believed: %v)", status, tc.perAddress)
			}
			fake.Advance(10 * time.Second) // 6 per minute: one token
			if status, got := createFrom(t, h, "198.51.100.1"); status != 200 {
				t.Fatalf("after 10 s: %d %s", status, got)
			}
			if status, _ := createFrom(t, h, "198.51.100.1"); status != http.StatusTooManyRequests {
				t.Fatalf("second chat after 10 s: %d", status)
			}
		})
	}
}

// TestPushConnectionsPerParty reproduces the attack of one chat's
// credentials opening thousands of push sockets: past
// push-connections-per-party the oldest is closed with 4009.
func TestPushConnectionsPerParty(t *testing.T) {
	h := startAPI(t, configWith(t, "[protection]\npush-connections-per-party = 2\n"), nil, webapi.Options{})
	ctx := ctxT(t)
	c, _, _ := h.newChat(ctx, "Ann")
	var subs []*chatv2.Subscription
	for i := range 5 {
		sub, err := c.Subscribe(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		if _, err := sub.Next(ctx); err != nil {
			t.Fatalf("socket %d: first frame: %v", i, err)
		}
		subs = append(subs, sub)
	}
	for i, sub := range subs[:3] {
		_, err := sub.Next(ctx)
		var ce *chatv2.ClosedError
		if !errors.As(err, &ce) || ce.Code != int(webapi.CloseReplaced) {
			t.Fatalf("socket %d: %v, want close code %d", i, err, webapi.CloseReplaced)
		}
	}
	eventually(t, "two sockets left", func() bool { return webapi.Held(h.api, c.ID) == 2 })
}

// TestCredentialsBoundToService checks that a chat's keys work under the
// service it was created with only, with the same 401 answer otherwise.
func TestCredentialsBoundToService(t *testing.T) {
	h := startAPI(t, configWith(t, "[chat.sales]\n[chat.support]\n"), nil, webapi.Options{})
	ctx := ctxT(t)
	c, _, err := h.client.RequestChat(ctx, "sales", chatv2.ChatRequest{Nickname: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	_, own := h.post("/sales/"+c.ID+"/refresh", formType, creds(c))
	if m := decode(t, own); m["statusCode"] != 0.0 {
		t.Fatalf("under its own service: %s", own)
	}
	_, wrongService := h.post("/support/"+c.ID+"/refresh", formType, creds(c))
	_, wrongKey := h.post("/sales/"+c.ID+"/refresh", formType, "userId="+c.UserID+"&secureKey=nope&alias=1")
	if !strings.Contains(string(wrongService), `"code":401`) || string(wrongService) != string(wrongKey) {
		t.Fatalf("under another service:\n%s\nwrong key:\n%s", wrongService, wrongKey)
	}
}

// TestServerOwnedKeysDropped checks that user data a customer sends cannot
// set the keys the server owns, at request chat and updateData.
func TestServerOwnedKeysDropped(t *testing.T) {
	h := startAPI(t, nil, nil, webapi.Options{})
	ctx := ctxT(t)
	owned := map[string]string{"ContactId": "c1", "GCTI_Chat_AsyncStatus": "-2", "ChatServerSessionPassword": "x",
		"IsOnline": "1", "csg_messages": "9", "Topic": "billing"}
	c, _, err := h.client.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Ann", UserData: owned})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateData(ctx, map[string]string{"ChatServerAppName": "evil", "cse_x": "1", "Order": "42"}); err != nil {
		t.Fatal(err)
	}
	s, _ := h.engine.Get(c.ID)
	ud := s.Info().UserData
	for _, k := range []string{"ContactId", "GCTI_Chat_AsyncStatus", "ChatServerSessionPassword", "IsOnline", "csg_messages", "ChatServerAppName", "cse_x"} {
		if _, ok := ud[k]; ok {
			t.Errorf("customer set server-owned key %s", k)
		}
	}
	if ud.String("Topic") != "billing" || ud.String("Order") != "42" {
		t.Errorf("ordinary keys lost: %v", ud)
	}
	if n := h.api.DroppedKeys(); n != 7 {
		t.Errorf("DroppedKeys = %d, want 7", n)
	}
}

// TestSendBoundsShapes checks the customer API's answers to the engine's
// bounds: HTTP 429 with Retry-After over party-send-rate, statusCode 2 with
// error 204 (chatEnded false) once the session is full.
func TestSendBoundsShapes(t *testing.T) {
	fake := clock.NewFake(epoch)
	h := startNode(t, configWith(t, "[protection]\nparty-send-rate = 1\nparty-send-burst = 2\nsession-max-messages = 4\n"), fake)
	ctx := ctxT(t)
	c, _, err := h.client.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	send := func() (int, map[string]any, http.Header) {
		req, _ := http.NewRequest(http.MethodPost, h.base+"/customer-support/"+c.ID+"/send", strings.NewReader(creds(c)+"&message=hi"))
		req.Header.Set("Content-Type", formType)
		resp, err := h.client.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		decodeJSON(t, resp, &m)
		return resp.StatusCode, m, resp.Header
	}
	for range 2 {
		if status, m, _ := send(); status != 200 || m["statusCode"] != 0.0 {
			t.Fatalf("send within the burst: %d %v", status, m)
		}
	}
	status, m, hd := send()
	if status != http.StatusTooManyRequests || hd.Get("Retry-After") == "" || m["chatEnded"] != nil {
		t.Fatalf("send over the rate: %d %v %v", status, m, hd)
	}
	for range 2 {
		fake.Advance(time.Second)
		if status, m, _ := send(); status != 200 || m["statusCode"] != 0.0 {
			t.Fatalf("send after a second: %d %v", status, m)
		}
	}
	fake.Advance(time.Second)
	status, m, _ = send()
	if status != 200 || m["statusCode"] != 2.0 || m["chatEnded"] != false || !strings.Contains(toJSON(m), `"code":204`) {
		t.Fatalf("send to a full session: %d %v", status, m)
	}
	// The notice becomes visible once durable (the commit watermark).
	eventually(t, "the customer to be told the chat is full", func() bool {
		resp, err := c.Refresh(ctx, 1)
		if err != nil || resp.ChatEnded {
			t.Fatalf("the full session did not go on: %+v %v", resp, err)
		}
		last := resp.Messages[len(resp.Messages)-1]
		return last.Text == chat.FullNotice
	})
}

// TestRateRefusedBeforeBody checks the per-chat pre-check: while the
// chat's customer is out of party-send-rate tokens, a charged operation is
// refused with the 429 answer before its body is decoded (a body that
// would get 400 or 413 gets the 429), and the pre-check charges nothing.
func TestRateRefusedBeforeBody(t *testing.T) {
	fake := clock.NewFake(epoch)
	h := startNode(t, configWith(t, "[protection]\nparty-send-rate = 1\nparty-send-burst = 2\n"), fake)
	ctx := ctxT(t)
	c, _, err := h.client.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	post := func(op, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, h.base+"/customer-support/"+c.ID+"/"+op, strings.NewReader(body))
		req.Header.Set("Content-Type", formType)
		status, got := h.do(req)
		return status, string(got)
	}
	bad := "userId=%zz&message=hi"                                // not a form: 400 once decoded
	huge := creds(c) + "&message=" + strings.Repeat("x", 200<<10) // past xml-request-max-size: 413
	if status, got := post("send", bad); status != http.StatusBadRequest {
		t.Fatalf("bad body with tokens left: %d %s (want 400: the test must see the body decoded)", status, got)
	}
	for range 2 {
		if status, got := post("send", creds(c)+"&message=hi"); status != 200 {
			t.Fatalf("send within the burst: %d %s", status, got)
		}
	}
	for _, tc := range []struct{ op, body string }{{"send", bad}, {"send", huge}, {"startTyping", bad}, {"customNotice", huge}} {
		status, got := post(tc.op, tc.body)
		if status != http.StatusTooManyRequests || !strings.Contains(got, `"code":429`) {
			t.Fatalf("%s over the rate with a %d-byte body: %d %s, want the 429 before the body", tc.op, len(tc.body), status, got)
		}
	}
	// Not charged: refresh and disconnect still read their bodies.
	if status, got := post("refresh", bad); status != http.StatusBadRequest {
		t.Fatalf("refresh over the rate: %d %s, want 400 (refresh is not charged)", status, got)
	}
	fake.Advance(time.Second) // one token; the refusals above took none
	if status, got := post("send", creds(c)+"&message=hi"); status != 200 {
		t.Fatalf("send after a second: %d %s", status, got)
	}
	if status, _ := post("send", creds(c)+"&message=hi"); status != http.StatusTooManyRequests {
		t.Fatalf("second send after a second: %d", status)
	}
}

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestPushConnectRate reproduces one chat's credentials opening push
// sockets without end: past push-connections-per-party + 10 at once, and
// then faster than push-connect-rate, the handshake is refused with HTTP
// 429 before the upgrade (the fake clock refills the bucket).
func TestPushConnectRate(t *testing.T) {
	fake := clock.NewFake(epoch)
	h := startAPI(t, configWith(t, "[protection]\npush-connections-per-party = 1\npush-connect-rate = 6\n"), fake, webapi.Options{})
	ctx := ctxT(t)
	c, _, _ := h.newChat(ctx, "Ann")
	open := func() error {
		sub, err := c.Subscribe(ctx, 1)
		if err == nil {
			sub.Close()
		}
		return err
	}
	for i := range 11 {
		if err := open(); err != nil {
			t.Fatalf("socket %d within the burst: %v", i, err)
		}
	}
	err := open()
	if err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("socket past the burst: %v, want the handshake refused with 429", err)
	}
	fake.Advance(10 * time.Second) // 6 a minute: one more
	if err := open(); err != nil {
		t.Fatalf("socket after 10 s: %v", err)
	}
	if err := open(); err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("second socket after 10 s: %v", err)
	}
}
