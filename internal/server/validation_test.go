package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
	espc "github.com/confab/confab/client/esp"
)

// TestSameFieldSameRules sends the same invalid values through the customer
// API, ESP and the agent protocol and expects the same refusal from each:
// the reason after the field's name is the one shared by the three
// (internal/validate), and nothing is appended to the transcript.
func TestSameFieldSameRules(t *testing.T) {
	n := startE2E(t, t.TempDir(), "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cust := chatv2.New(n.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim"})
	if err != nil {
		t.Fatal(err)
	}
	ag := n.dial(t, "tok-alice")
	if _, err := ag.Accept(ctx, ch.ID, wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	es := espc.New(n.espURL, n.espToken, nil)
	if _, err := es.Message(ctx, ch.ID, "hello from the workflow", nil); err != nil {
		t.Fatal(err)
	}
	s, _ := n.srv.Engine().Get(ch.ID)
	_, before, _ := s.ReadAll(0, nil)

	long := strings.Repeat("n", 2000)
	longText := strings.Repeat("t", 20000)
	const badUTF8 = "bad\xff\xfe"
	cases := []struct {
		name   string
		reason string
		// customer: operation and form fields; esp: method and JSON body
		// (raw, so invalid bytes survive); agent: frame (raw).
		custOp, custForm string
		espMethod, esp   string
		agent            string
	}{
		{"long nickname", "2000 characters, more than the limit of 256",
			"updateNickname", "nickname=" + long,
			"Message", `{"InteractionId":"` + ch.ID + `","MessageText":"x","Nickname":"` + long + `"}`,
			`{"id":"r1","op":"notify","sessionId":"` + ch.ID + `","noticeType":"USER_UPDATE_NICK","text":"` + long + `"}`},
		{"nickname not UTF-8", "must be valid UTF-8",
			"updateNickname", "nickname=" + url.QueryEscape(badUTF8),
			"Message", `{"InteractionId":"` + ch.ID + `","MessageText":"x","Nickname":"` + badUTF8 + `"}`,
			`{"id":"r2","op":"notify","sessionId":"` + ch.ID + `","noticeType":"USER_UPDATE_NICK","text":"` + badUTF8 + `"}`},
		{"nickname with a lone surrogate", "must be valid UTF-8",
			"updateNickname", "nickname=" + url.QueryEscape("\xed\xa0\x80"),
			"Message", `{"InteractionId":"` + ch.ID + `","MessageText":"x","Nickname":"a\ud800b"}`,
			`{"id":"r3","op":"notify","sessionId":"` + ch.ID + `","noticeType":"USER_UPDATE_NICK","text":"a\ud800b"}`},
		{"message not UTF-8", "must be valid UTF-8",
			"send", "message=" + url.QueryEscape(badUTF8),
			"Message", `{"InteractionId":"` + ch.ID + `","MessageText":"` + badUTF8 + `"}`,
			`{"id":"r4","op":"send","sessionId":"` + ch.ID + `","text":"` + badUTF8 + `"}`},
		{"message too long", "20000 characters, more than the limit of 14745",
			"send", "message=" + longText,
			"Message", `{"InteractionId":"` + ch.ID + `","MessageText":"` + longText + `"}`,
			`{"id":"r5","op":"send","sessionId":"` + ch.ID + `","text":"` + longText + `"}`},
		{"pushed URL that is not one", "must be an absolute URL with a scheme and a host",
			"pushUrl", "pushUrl=notaurl",
			"Notice", `{"InteractionId":"` + ch.ID + `","NoticeType":"USER_PUSHED_URL","NoticeText":"notaurl"}`,
			`{"id":"r6","op":"notify","sessionId":"` + ch.ID + `","noticeType":"USER_PUSHED_URL","text":"notaurl"}`},
		{"event attributes not UTF-8", "must be valid UTF-8",
			"send", "message=x&eventAttributes=" + url.QueryEscape(`{"a":"`+badUTF8+`"}`),
			"Message", `{"InteractionId":"` + ch.ID + `","MessageText":"x","EventAttributes":{"a":"` + badUTF8 + `"}}`,
			`{"id":"r7","op":"send","sessionId":"` + ch.ID + `","text":"x","eventAttributes":{"a":"` + badUTF8 + `"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The customer API: HTTP 400, errors[0].advice "<field>: <reason>".
			creds := "userId=" + ch.UserID + "&secureKey=" + ch.SecureKey + "&alias=" + ch.Alias()
			resp, err := http.Post(n.chatURL+"/customer-support/"+ch.ID+"/"+tc.custOp, "application/x-www-form-urlencoded",
				strings.NewReader(creds+"&"+tc.custForm))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var ans struct {
				ChatEnded *bool `json:"chatEnded"`
				Errors    []struct {
					Code   int    `json:"code"`
					Advice string `json:"advice"`
				} `json:"errors"`
			}
			if err := json.Unmarshal(body, &ans); err != nil || resp.StatusCode != 400 || len(ans.Errors) != 1 || ans.ChatEnded != nil {
				t.Fatalf("customer API: HTTP %d %s", resp.StatusCode, body)
			}
			if got := reasonOf(ans.Errors[0].Advice); got != tc.reason {
				t.Errorf("customer API reason %q, want %q", got, tc.reason)
			}
			// ESP: a fault whose FaultString is "<Parameter>: <reason>".
			_, err = es.CallRaw(ctx, tc.espMethod, []byte(tc.esp))
			var f *espc.Fault
			if !errors.As(err, &f) || f.Status/100 != 4 || f.FaultCode != espc.FaultInvalidParameter {
				t.Fatalf("ESP: %v", err)
			}
			if got := reasonOf(f.FaultString); got != tc.reason {
				t.Errorf("ESP reason %q, want %q", got, tc.reason)
			}
			// The agent protocol: an error frame, message "<field>: <reason>".
			var id struct{ ID string }
			json.Unmarshal([]byte(strings.ToValidUTF8(tc.agent, "")), &id)
			if err := ag.WriteRaw(ctx, []byte(tc.agent), false); err != nil {
				t.Fatal(err)
			}
			fr := frameWithID(ctx, t, ag, id.ID)
			if fr.Type != wire.FrameError || fr.Code != wire.CodeBadRequest {
				t.Fatalf("agent: %+v", fr)
			}
			if got := reasonOf(fr.Message); got != tc.reason {
				t.Errorf("agent reason %q, want %q", got, tc.reason)
			}
		})
	}
	if _, after, _ := s.ReadAll(0, nil); after != before {
		t.Errorf("refused values changed the transcript: %d events, was %d", after, before)
	}
}

// reasonOf returns what follows the field name in "<field>: <reason>".
func reasonOf(s string) string {
	_, r, _ := strings.Cut(s, ": ")
	return r
}

// frameWithID waits for the answer to request id.
func frameWithID(ctx context.Context, t *testing.T, c *wire.Client, id string) wire.Frame {
	t.Helper()
	for {
		select {
		case f := <-c.Frames():
			if f.ID == id {
				return f
			}
		case <-c.Done():
			t.Fatalf("agent socket closed: %v", c.Err())
		case <-ctx.Done():
			t.Fatalf("no answer to %s", id)
		}
	}
}

// TestEveryErrorIsJSON asks every listener for what it does not serve and
// expects a JSON error in the shape of that API, never plain text.
func TestEveryErrorIsJSON(t *testing.T) {
	n := startE2E(t, t.TempDir(), "")
	cases := []struct {
		name, method, url, token string
		status                   int
		key                      string // a key the JSON body must have
	}{
		{"admin POST interactions", "POST", n.agentURL + "/api/v1/interactions", n.adminToken, 405, "code"},
		{"admin DELETE events", "DELETE", n.agentURL + "/api/v1/events", n.adminToken, 405, "code"},
		{"admin POST without token", "POST", n.agentURL + "/api/v1/interactions", "", 401, "code"},
		{"admin unknown path", "GET", n.agentURL + "/api/v1/nothing", n.adminToken, 404, "code"},
		{"agent socket without upgrade", "GET", n.agentURL + wire.Path, "tok-alice", 426, "code"},
		{"agent socket POST", "POST", n.agentURL + wire.Path, "tok-alice", 405, "code"},
		{"agent socket without token", "GET", n.agentURL + wire.Path, "", 401, "code"},
		{"customer socket without upgrade", "GET", n.chatURL + "/customer-support/C1/ws?userId=u&secureKey=k&alias=1", "", 426, "errors"},
		{"customer GET request chat", "GET", n.chatURL + "/customer-support", "", 405, "errors"},
		{"ESP GET", "GET", n.espURL + "/esp/Chat/Message", n.espToken, 405, "FaultString"},
		{"unknown path", "GET", n.agentURL + "/no/such/thing", "", 404, "code"},
		{"POST healthz", "POST", n.agentURL + "/healthz", "", 405, "code"},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, tc.url, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var m map[string]any
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			json.Unmarshal(body, &m) != nil || m[tc.key] == nil {
			t.Errorf("%s: HTTP %d %q %s, want %d JSON with %q", tc.name, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.status, tc.key)
		}
	}
}
