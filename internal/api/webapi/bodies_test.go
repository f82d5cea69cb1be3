package webapi_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/config"
)

// TestUnparseableBodies sends every customer operation bodies it cannot
// read as the client meant them: each is a 400 naming the problem, never
// chatEnded:true, and the chat is alive afterwards.
func TestUnparseableBodies(t *testing.T) {
	h := startNode(t, nil, nil)
	ctx := ctxT(t)
	c, _, _ := h.newChat(ctx, "Ann")
	cr := creds(c)
	bodies := []struct{ name, ctype, body, want string }{
		{"JSON labelled as a form", formType, `{"userId":"` + c.UserID + `","secureKey":"` + c.SecureKey + `","alias":"1"}`, "the body is JSON"},
		{"JSON without a label", "", `  {"userId":"x"}`, "the body is JSON"},
		{"JSON array as text/plain", "text/plain", `[1,2]`, "the body is JSON"},
		{"broken percent-encoding", formType, cr + "&message=%zz", "not valid percent-encoding"},
		{"multipart without a boundary", "multipart/form-data", "--X\r\nContent-Type: text/plain\r\n\r\nhi\r\n--X--\r\n", "without a boundary"},
		{"truncated multipart", "multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"userId\"\r\n\r\n" + c.UserID, "malformed multipart"},
		{"binary", "application/octet-stream", "\x00\x01\x02", "is not accepted"},
		{"no credentials", formType, "message=hello", "userId: is required"},
		{"garbage form", formType, "\x00\xff\xfe--\r\n=&&=", "userId: is required"},
	}
	for _, op := range sessionOpNames {
		for _, b := range bodies {
			status, got := h.post("/customer-support/"+c.ID+"/"+op, b.ctype, b.body)
			if status/100 != 4 {
				t.Errorf("%s, %s: HTTP %d %s", op, b.name, status, got)
				continue
			}
			m := decode(t, got)
			if ended, _ := m["chatEnded"].(bool); ended {
				t.Errorf("%s, %s: chatEnded true: %s", op, b.name, got)
			}
			if !strings.Contains(string(got), b.want) {
				t.Errorf("%s, %s: %s, want an error saying %q", op, b.name, got, b.want)
			}
		}
	}
	if resp, err := c.Refresh(ctx, 1); err != nil || resp.ChatEnded || resp.StatusCode != 0 {
		t.Fatalf("the chat did not survive: %+v, %v", resp, err)
	}
}

// sessionOpNames are the customer operations on a live chat.
var sessionOpNames = []string{"send", "refresh", "startTyping", "stopTyping", "customNotice", "pushUrl",
	"updateData", "updateNickname", "readReceipt", "file/limits", "file", "disconnect"}

// TestMislabelledMultipart checks that a multipart body is read by its
// boundary whatever its Content-Type says: form-urlencoded (as one client
// library labels uploads), text/plain, none, or multipart with another
// boundary.
func TestMislabelledMultipart(t *testing.T) {
	h := startNode(t, nil, nil)
	ctx := ctxT(t)
	c, s, agent := h.newChat(ctx, "Ann")
	_, body := multipartBody(t, [][2]string{{"userId", c.UserID}, {"secureKey", c.SecureKey}, {"alias", c.Alias()}, {"message", "hello"}})
	for i, label := range []string{formType, "text/plain", "", "multipart/form-data; boundary=not-the-one"} {
		status, got := h.post("/customer-support/"+c.ID+"/send", label, body)
		m := decode(t, got)
		if status != 200 || m["statusCode"] != 0.0 || m["chatEnded"] != false {
			t.Fatalf("send labelled %q: HTTP %d %s", label, status, got)
		}
		evs, _, _, _ := s.Read(agent.UserID, 0, nil)
		if last := evs[len(evs)-1]; last.Text != "hello" || last.From.UserID != c.UserID {
			t.Fatalf("send labelled %q (#%d): the agent's last event is %+v", label, i, last)
		}
	}
	// Request chat too.
	_, body = multipartBody(t, [][2]string{{"nickname", "Bea"}, {"userData[Topic]", "billing"}})
	status, got := h.post("/customer-support", formType, body)
	m := decode(t, got)
	if status != 200 || m["statusCode"] != 0.0 {
		t.Fatalf("request chat as mislabelled multipart: HTTP %d %s", status, got)
	}
	ns, err := h.engine.Get(m["chatId"].(string))
	if err != nil || ns.Info().UserData.String("Topic") != "billing" {
		t.Fatalf("request chat as mislabelled multipart lost its fields: %v", err)
	}
}

// TestServices checks that only configured services are served: the
// built-in configuration serves customer-support; [chat.<service>]
// sections name the services; allow-any-service serves every name.
func TestServices(t *testing.T) {
	hostile := []string{"no-such-service", "%2e%2e", strings.Repeat("s", 5000), "customer-support%00", "Customer-Support"}
	cases := []struct {
		name   string
		ini    string
		served []string
		not    []string
	}{
		{"built-in", "", []string{"customer-support"}, append([]string{"sales"}, hostile...)},
		{"configured", "[chat.sales]\n[chat.vip]\n_chat_endpoint = Environment:default\n",
			[]string{"sales", "vip"}, append([]string{"customer-support"}, hostile...)},
		{"allow any", "[protection]\nallow-any-service = true\n",
			[]string{"customer-support", "sales", "no-such-service", strings.Repeat("s", 5000)}, nil},
		{"allow any with sections", "[chat.sales]\n[protection]\nallow-any-service = true\n",
			[]string{"sales", "customer-support", "other"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cfg *config.Config
			if tc.ini != "" {
				cfg = configWith(t, tc.ini)
			}
			h := startAPI(t, cfg, nil, webapi.Options{})
			for _, svc := range tc.served {
				status, got := h.post("/"+url.PathEscape(svc), formType, "nickname=Ann")
				if m := decode(t, got); status != 200 || m["statusCode"] != 0.0 {
					t.Errorf("service %.40q: HTTP %d %s, want a chat", svc, status, got)
				}
			}
			for _, svc := range tc.not {
				path := "/" + svc
				if !strings.Contains(svc, "%") {
					path = "/" + url.PathEscape(svc)
				}
				status, got := h.post(path, formType, "nickname=Ann")
				m := decode(t, got)
				if status != 200 || m["statusCode"] != 2.0 || m["chatId"] != nil || !strings.Contains(string(got), `"code":240`) {
					t.Errorf("service %.40q: HTTP %d %.300s, want the refusal", svc, status, got)
				}
				if len(got) > 400 {
					t.Errorf("service %.40q: the refusal echoes too much: %d bytes", svc, len(got))
				}
			}
			if n := h.engine.Alive(); n != len(tc.served) {
				t.Errorf("%d chats alive, want %d", n, len(tc.served))
			}
		})
	}
}
