package webapi_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
)

// TestAuthenticationIsUniform checks that every credential mismatch gets
// the same answer, byte for byte: it must not tell a wrong key from an
// unknown chat.
func TestAuthenticationIsUniform(t *testing.T) {
	h := startNode(t, nil, nil)
	ctx := ctxT(t)
	c, _, agent := h.newChat(ctx, "Ann")
	other, _, _ := h.newChat(ctx, "Bob")
	ok := "userId=" + c.UserID + "&secureKey=" + c.SecureKey + "&alias=1"
	cases := []struct{ name, path, body string }{
		{"wrong key", c.ID, "userId=" + c.UserID + "&secureKey=" + strings.ToLower(c.SecureKey) + "x&alias=1"},
		{"key of another chat", c.ID, "userId=" + c.UserID + "&secureKey=" + other.SecureKey + "&alias=1"},
		{"unknown chat", "NoSuchChat000000", ok},
		{"another chat's id", other.ID, ok},
		{"agent's user id", c.ID, "userId=" + agent.UserID + "&secureKey=" + c.SecureKey + "&alias=1"},
		{"wrong alias", c.ID, "userId=" + c.UserID + "&secureKey=" + c.SecureKey + "&alias=117"},
	}
	var first []byte
	for _, tc := range cases {
		for _, op := range []string{"refresh", "send", "disconnect", "file/limits"} {
			status, got := h.post("/customer-support/"+tc.path+"/"+op, formType, tc.body+"&message=hi")
			if status != http.StatusOK {
				t.Fatalf("%s %s: HTTP %d", tc.name, op, status)
			}
			if first == nil {
				first = got
				matchJSON(t, got, `{"statusCode": 2, "chatEnded": true, "messages": [], "errors": [{"code": 401, "advice": "<id>"}]}`)
			} else if !bytes.Equal(got, first) {
				t.Errorf("%s %s answered differently:\n%s\n%s", tc.name, op, got, first)
			}
		}
	}
	// And the real credentials still work: nothing above disconnected Ann.
	if resp, err := c.Refresh(ctx, 1); err != nil || resp.ChatEnded {
		t.Fatalf("the customer's own refresh: %+v, %v", resp, err)
	}
}

// TestRequestLimits checks the body limit (413) and the field limits
// derived from xml-request-max-size (usable text 0.45 of it).
func TestRequestLimits(t *testing.T) {
	h := startAPI(t, configWith(t, "[settings]\nxml-request-max-size = 2000\n"), nil, webapi.Options{})
	ctx := ctxT(t)
	c, _, _ := h.newChat(ctx, "Ann")
	path := "/customer-support/" + c.ID
	for _, tc := range []struct {
		name, op, body string
		status, code   int
	}{
		{"message at the limit", "send", "&message=" + strings.Repeat("a", 900), 200, 0},
		{"message over the limit", "send", "&message=" + strings.Repeat("a", 901), 400, 204},
		{"multi-byte message at the limit", "send", "&message=" + strings.Repeat("é", 900), 200, 0}, // raw UTF-8: 2 bytes a character,
		{"body over the limit", "send", "&message=" + strings.Repeat("a", 2000), 413, 204},
		{"typing preview too long", "startTyping", "&message=" + strings.Repeat("a", 901), 400, 204},
		{"refresh preview too long", "refresh", "&message=" + strings.Repeat("a", 901), 400, 204},
		{"custom notice too long", "customNotice", "&message=" + strings.Repeat("a", 901), 400, 204},
		{"nickname too long", "updateNickname", "&nickname=" + strings.Repeat("n", 257), 400, 161},
		{"nickname missing", "updateNickname", "&nickname=+", 400, 161},
		{"user data too large", "updateData", "&userData%5Bnote%5D=" + strings.Repeat("u", 900), 400, 204},
		{"push URL not absolute", "pushUrl", "&pushUrl=javascript%3Aalert(1)", 400, 400},
		{"push URL missing", "pushUrl", "", 400, 400},
		{"eventAttributes not JSON", "send", "&message=hi&eventAttributes=%7Bnope", 400, 400},
		{"transcriptPosition not a number", "refresh", "&transcriptPosition=abc", 400, 400},
		{"transcriptPosition below -1", "refresh", "&transcriptPosition=-2", 400, 400},
		{"waitSeconds negative", "refresh", "&waitSeconds=-1", 400, 400},
		{"message missing", "send", "", 400, 400},
		{"invalid UTF-8", "send", "&message=%FF%FE", 400, 400},
		{"broken percent-encoding", "send", "&message=%G1", 400, 400},
		{"clientMessageId too long", "send", "&message=hi&clientMessageId=" + strings.Repeat("i", 129), 400, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, got := h.post(path+"/"+tc.op, formType, creds(c)+tc.body)
			if status != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", status, tc.status, got)
			}
			if tc.code == 0 {
				if m := decode(t, got); m["statusCode"] != 0.0 {
					t.Fatalf("answer %s", got)
				}
				return
			}
			matchJSON(t, got, `{"errors": [{"code": `+strconv.Itoa(tc.code)+`, "advice": "<id>"}]}`)
		})
	}
}

// TestHTTPSurface checks CORS, wrong methods, unknown paths and content
// types: every answer is JSON (or an empty preflight answer).
func TestHTTPSurface(t *testing.T) {
	h := startNode(t, nil, nil)
	ctx := ctxT(t)
	c, _, _ := h.newChat(ctx, "Ann")
	t.Run("preflight", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodOptions, h.base+"/customer-support/"+c.ID+"/send", nil)
		req.Header.Set("Origin", "https://shop.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,apikey,authorization")
		resp, err := h.client.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		hd := resp.Header
		if resp.StatusCode != http.StatusNoContent || hd.Get("Access-Control-Allow-Origin") != "https://shop.example" ||
			!strings.Contains(hd.Get("Access-Control-Allow-Methods"), "POST") {
			t.Fatalf("preflight: %d %v", resp.StatusCode, hd)
		}
		for _, want := range []string{"Content-Type", "apikey", "Authorization"} {
			if !strings.Contains(hd.Get("Access-Control-Allow-Headers"), want) {
				t.Errorf("Access-Control-Allow-Headers %q lacks %s", hd.Get("Access-Control-Allow-Headers"), want)
			}
		}
	})
	t.Run("cross-origin answer", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, h.base+"/customer-support/"+c.ID+"/refresh", strings.NewReader(creds(c)))
		req.Header.Set("Content-Type", formType)
		req.Header.Set("Origin", "https://shop.example")
		req.Header.Set("apikey", "gateway-token")
		resp, err := h.client.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" || resp.StatusCode != 200 {
			t.Fatalf("answer headers %v", resp.Header)
		}
	})
	for _, tc := range []struct {
		name, method, path, ctype string
		status, code              int
	}{
		{"GET on an operation", http.MethodGet, "/customer-support/" + c.ID + "/send", "", 405, 400},
		{"GET on request chat", http.MethodGet, "/customer-support", "", 405, 400},
		{"unknown operation", http.MethodPost, "/customer-support/" + c.ID + "/explode", formType, 404, 404},
		{"no service", http.MethodPost, "/", formType, 404, 404},
		{"JSON body", http.MethodPost, "/customer-support", "application/json", 415, 400},
		{"broken content type", http.MethodPost, "/customer-support", "multipart/form-data; boundary=", 415, 400},
		{"multipart without boundary", http.MethodPost, "/customer-support", "multipart/form-data", 400, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, h.base+tc.path, strings.NewReader("nickname=Ann"))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			status, got := h.do(req)
			if status != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", status, tc.status, got)
			}
			matchJSON(t, got, `{"errors": [{"code": `+strconv.Itoa(tc.code)+`, "advice": "<id>"}]}`)
		})
	}
}

// TestIdempotentSend checks that a retried send with the same
// clientMessageId appends one message and gets the same answer.
func TestIdempotentSend(t *testing.T) {
	for _, tr := range []string{"form", "multipart"} {
		t.Run(tr, func(t *testing.T) {
			h := startNode(t, nil, nil)
			ctx := ctxT(t)
			c, s, _ := h.newChat(ctx, "Ann")
			fields := [][2]string{{"userId", c.UserID}, {"secureKey", c.SecureKey}, {"alias", "1"},
				{"message", "pay now"}, {"clientMessageId", "m-1"}, {"transcriptPosition", "3"}}
			send := func() []byte {
				ctype, body := multipartBody(t, fields)
				if tr == "form" {
					v := url.Values{}
					for _, f := range fields {
						v.Set(f[0], f[1])
					}
					ctype, body = formType, v.Encode()
				}
				status, got := h.post("/customer-support/"+c.ID+"/send", ctype, body)
				if status != 200 {
					t.Fatalf("HTTP %d: %s", status, got)
				}
				return got
			}
			a, b := send(), send()
			if !bytes.Equal(a, b) {
				t.Errorf("a retry answered differently:\n%s\n%s", a, b)
			}
			evs, _, _ := s.ReadAll(0, nil)
			n := 0
			for _, ev := range evs {
				if ev.Kind == chat.Message && ev.Text == "pay now" {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d messages for one clientMessageId", n)
			}
			// Another id is another message.
			if _, err := c.Send(ctx, "pay now", &chatv2.SendOptions{ClientMessageID: "m-2"}); err != nil {
				t.Fatal(err)
			}
			if evs, _, _ = s.ReadAll(0, nil); len(evs) != 4 {
				t.Fatalf("%d events, want 4", len(evs))
			}
		})
	}
}

// TestCustomerOperations runs the operations with no transport of their
// own and checks what the agent side receives.
func TestCustomerOperations(t *testing.T) {
	h := startNode(t, nil, nil)
	ctx := ctxT(t)
	c, s, agent := h.newChat(ctx, "Ann")
	durable(t)(s.Send(agent.UserID, chat.Msg{Text: "hello"}))
	steps := []struct {
		name  string
		do    func() (*chatv2.Response, error)
		check func(ev chat.Event) bool
	}{
		{"custom notice", func() (*chatv2.Response, error) {
			return c.CustomNotice(ctx, "", map[string]any{"purpose": "cancel-idle-timer"})
		}, func(ev chat.Event) bool {
			return ev.Notice == chat.CustomNotice && ev.Attrs.String("purpose") == "cancel-idle-timer"
		}},
		{"push URL", func() (*chatv2.Response, error) { return c.PushURL(ctx, "https://shop.example/cart") },
			func(ev chat.Event) bool { return ev.Notice == chat.PushURL && ev.Text == "https://shop.example/cart" }},
		{"nickname", func() (*chatv2.Response, error) { return c.UpdateNickname(ctx, "Annie") },
			func(ev chat.Event) bool { return ev.Notice == chat.NickChanged && ev.Text == "Annie" }},
		{"read receipt", func() (*chatv2.Response, error) { return c.ReadReceipt(ctx, 3) },
			func(ev chat.Event) bool {
				return ev.IsReadConfirm() && ev.UserData.String(chat.LastEventIDKey) == "3"
			}},
		{"read receipt of everything", func() (*chatv2.Response, error) { return c.ReadReceipt(ctx, 0) },
			func(ev chat.Event) bool {
				return ev.IsReadConfirm() && ev.UserData.String(chat.LastEventIDKey) == "7"
			}},
	}
	for _, st := range steps {
		resp, err := st.do()
		if err != nil || resp.StatusCode != 0 || resp.ChatEnded {
			t.Fatalf("%s: %+v, %v", st.name, resp, err)
		}
		evs, _, _, _ := s.Read(agent.UserID, 0, nil)
		if last := evs[len(evs)-1]; !st.check(last) {
			t.Errorf("%s: the agent got %+v", st.name, last)
		}
	}
	if _, err := c.UpdateData(ctx, map[string]string{"orderId": "42"}); err != nil {
		t.Fatal(err)
	}
	if got := s.Info().UserData.String("orderId"); got != "42" {
		t.Errorf("updateData: orderId = %q", got)
	}
	// What the customer sees of its own notices.
	resp, err := c.Refresh(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, m := range resp.Messages {
		types = append(types, m.Type+":"+m.Text)
	}
	// The customer's own read receipts are not echoed back to it.
	want := "CustomNotice:|PushUrl:https://shop.example/cart|NicknameUpdated:Annie"
	if strings.Join(types, "|") != want {
		t.Errorf("customer sees %v, want %s", types, want)
	}
	// transcriptPosition 0 and -1.
	resp, _ = c.Refresh(ctx, 0)
	if len(resp.Messages) != 0 || resp.NextPosition != 9 {
		t.Errorf("refresh 0: %+v", resp)
	}
	resp, _ = c.Refresh(ctx, -1)
	if len(resp.Messages) != 1 || resp.Messages[0].Index != 6 {
		t.Errorf("refresh -1: %+v", resp)
	}
	var ae *chatv2.APIError
	if _, err := c.PushURL(ctx, "not a url"); !errors.As(err, &ae) || ae.HTTPStatus != 400 {
		t.Errorf("bad push URL: %v", err)
	}
}

// TestDisconnectCloses checks what a customer's disconnect does to the
// session: it stays open for a human agent, and closes when only bots or
// workflow parties remain.
func TestDisconnectCloses(t *testing.T) {
	h := startNode(t, nil, nil)
	ctx := ctxT(t)
	for _, tc := range []struct {
		name   string
		other  chat.JoinRequest
		closes bool
	}{
		{"agent stays", chat.JoinRequest{Nick: "Anna", Type: chat.Agent, Protocol: chat.Basic}, false},
		{"bot", chat.JoinRequest{Nick: "Bot", Type: chat.Agent, Protocol: chat.Basic, UserData: kv.Map{"GCTI_Chat_SetPartyStyle": "BOT"}}, true},
		{"workflow party", chat.JoinRequest{Nick: "Flow", Type: chat.External, Protocol: chat.ESP}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := h.client.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Ann"})
			if err != nil {
				t.Fatal(err)
			}
			s, _ := h.engine.Get(c.ID)
			durable(t)(func() (chat.Receipt, error) { _, rc, err := s.Join(tc.other); return rc, err }())
			resp, err := c.Disconnect(ctx)
			if err != nil || !resp.ChatEnded {
				t.Fatalf("disconnect: %+v, %v", resp, err)
			}
			if closed := s.State() == chat.Closed; closed != tc.closes {
				t.Fatalf("session closed = %v, want %v", closed, tc.closes)
			}
			evs, _, _ := s.ReadAll(0, nil)
			for _, ev := range evs {
				if ev.Kind == chat.PartyLeft && ev.From.UserID == c.UserID && ev.Reason != chat.LeftNormally {
					t.Errorf("the customer left with reason %d, want 0", ev.Reason)
				}
			}
			// A second disconnect answers the same way.
			if resp, err := c.Disconnect(ctx); err != nil || !resp.ChatEnded || resp.StatusCode != 0 {
				t.Fatalf("second disconnect: %+v, %v", resp, err)
			}
		})
	}
}

// TestMissingSessionFields checks that a request without its credentials
// is a 400 naming the missing field, never the "chat ended" answer.
func TestMissingSessionFields(t *testing.T) {
	h := startNode(t, nil, nil)
	ctx := ctxT(t)
	c, _, _ := h.newChat(ctx, "Ann")
	for _, tc := range []struct{ name, body, field string }{
		{"no credentials", "", "userId"},
		{"empty key", "userId=" + c.UserID + "&secureKey=&alias=1", "secureKey"},
		{"no alias", "userId=" + c.UserID + "&secureKey=" + c.SecureKey, "alias"},
	} {
		for _, op := range []string{"refresh", "send", "disconnect", "file/limits"} {
			status, got := h.post("/customer-support/"+c.ID+"/"+op, formType, tc.body+"&message=hi")
			if status != http.StatusBadRequest {
				t.Fatalf("%s %s: HTTP %d %s", tc.name, op, status, got)
			}
			m := decode(t, got)
			if _, ok := m["chatEnded"]; ok || !strings.Contains(string(got), tc.field+": is required") {
				t.Errorf("%s %s: %s", tc.name, op, got)
			}
		}
	}
	if resp, err := c.Refresh(ctx, 1); err != nil || resp.ChatEnded {
		t.Fatalf("the chat did not survive: %+v, %v", resp, err)
	}
}

// TestServiceEndpoints checks the gateway's service mapping: a service
// with its own _chat_endpoint, the default endpoint for every other
// service, and a clear refusal for an endpoint that does not exist.
func TestServiceEndpoints(t *testing.T) {
	h := startNode(t, configWith(t, `
[tenants]
Environment = 1
[endpoints:1]
default = Chat In
support = Support Queue
[chat]
default_chat_endpoint = Environment:default
[chat.vip]
_chat_endpoint = 1:support
[chat.broken]
_chat_endpoint = Environment:nosuch
[chat.customer-support]
`), nil)
	ctx := ctxT(t)
	for _, tc := range []struct{ service, endpoint, queue string }{
		{"vip", "support", "Support Queue"},
		{"customer-support", "default", "Chat In"},
	} {
		c, _, err := h.client.RequestChat(ctx, tc.service, chatv2.ChatRequest{Nickname: "Ann"})
		if err != nil {
			t.Fatalf("%s: %v", tc.service, err)
		}
		s, _ := h.engine.Get(c.ID)
		if s.Tenant() != "1" || s.Endpoint() != tc.endpoint || s.Queue() != tc.queue {
			t.Errorf("%s: tenant %s endpoint %s queue %s", tc.service, s.Tenant(), s.Endpoint(), s.Queue())
		}
	}
	status, got := h.post("/broken", formType, "nickname=Ann")
	if status != 200 {
		t.Fatalf("HTTP %d", status)
	}
	matchJSON(t, got, `{"statusCode": 2, "chatEnded": false, "messages": [], "errors": [{"code": 240, "advice": "<id>"}]}`)
}

// TestSessionLimit checks that a full node answers request chat with
// statusCode 1 (try again) and error 503.
func TestSessionLimit(t *testing.T) {
	h := startNode(t, configWith(t, "[settings]\nlimit-for-sessions = 1\n"), nil)
	ctx := ctxT(t)
	if _, _, err := h.client.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "One"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := h.client.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Two"})
	var ae *chatv2.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 1 || !ae.Has(503) {
		t.Fatalf("second chat: %v", err)
	}
}
