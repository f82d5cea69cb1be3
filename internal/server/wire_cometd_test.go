package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestCORSFromConfig: the [cors] origins reach every customer endpoint of a
// whole node (REST, CometD, chat-ntf) and the agent socket.
func TestCORSFromConfig(t *testing.T) {
	n := startE2E(t, t.TempDir(), "[cors]\nallowed-origins = https://desk.example.com, https://*.shop.example\n")
	base := strings.TrimSuffix(n.chatURL, "/genesys/2/chat")
	for _, p := range []string{"/genesys/2/chat/customer-support", "/genesys/cometd/handshake", "/genesys/2/chat-ntf"} {
		for _, tc := range []struct{ origin, allow, cred string }{
			{"https://eu.shop.example", "https://eu.shop.example", "true"},
			{"https://evil.example", "", ""},
		} {
			req, _ := http.NewRequest(http.MethodOptions, base+p, nil)
			req.Header.Set("Origin", tc.origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.allow || resp.Header.Get("Access-Control-Allow-Credentials") != tc.cred {
				t.Errorf("preflight %s from %s: Allow-Origin %q Allow-Credentials %q", p, tc.origin, got, resp.Header.Get("Access-Control-Allow-Credentials"))
			}
		}
	}
	dial := func(origin string) (*http.Response, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h := http.Header{"Origin": {origin}, "Authorization": {"Bearer tok-alice"}}
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(n.agentURL, "http")+"/agent/v1/ws", &websocket.DialOptions{HTTPHeader: h})
		if err == nil {
			c.CloseNow()
		}
		return resp, err
	}
	if _, err := dial("https://desk.example.com"); err != nil {
		t.Errorf("agent socket from an allowed origin: %v", err)
	}
	if resp, err := dial("https://evil.example"); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("agent socket from another origin: %v (%v)", err, resp)
	}
}
