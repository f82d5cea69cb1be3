package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
	"github.com/confab/confab/internal/web"
)

func TestPages(t *testing.T) {
	mux := http.NewServeMux()
	web.New(web.Options{Locate: func() web.Locations { return web.Locations{Agent: "127.0.0.1:9"} }}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tt := range []struct {
		path, contentType, body string
		crossOrigin             bool
	}{
		{"/", "text/html", `href="/desk/"`, false},
		{"/widget/", "text/html", `src="/widget/widget.js" data-service="customer-support"`, false},
		{"/widget/widget.js", "javascript", `data-testid': 'prechat-start'`, true},
		{"/widget/widget.css", "text/css", "#confab-widget", false},
		{"/desk/", "text/html", `data-testid="desk-signin"`, false},
		{"/desk/desk.js", "javascript", "access_token", false},
		{"/desk/config.json", "application/json", `"agent":"127.0.0.1:9","health":"","service":"customer-support"`, false},
	} {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), tt.contentType) {
			t.Errorf("GET %s = %d %q", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !strings.Contains(string(body), tt.body) {
			t.Errorf("GET %s: body lacks %q", tt.path, tt.body)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin") == "*"; got != tt.crossOrigin {
			t.Errorf("GET %s: Access-Control-Allow-Origin %q", tt.path, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	resp, err := http.Post(srv.URL+"/desk/", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("POST /desk/ = %d", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:80": true, "127.9.9.9:1": true,
		":8080": false, "0.0.0.0:8080": false, "[::]:8080": false, "10.0.0.1:8080": false, "example.com:80": false, "garbage": false,
	} {
		if got := web.Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestEnsureDemo(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	made, err := web.EnsureDemo(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(made) != 2 || made[0].Type != store.UserAgent || made[1].Type != store.UserSupervisor {
		t.Fatalf("first run made %+v", made)
	}
	for _, a := range made {
		got, err := st.GetAgentByTokenHash(ctx, agent.HashToken(a.Token))
		if err != nil || got.ID != a.ID {
			t.Errorf("token of %s finds %+v, %v", a.ID, got, err)
		}
	}
	again, err := web.EnsureDemo(ctx, st)
	if err != nil || len(again) != 0 {
		t.Fatalf("a second run made %+v, %v", again, err)
	}
	b, _ := json.Marshal(made)
	if strings.Count(string(b), "Token") != 2 {
		t.Fatal("tokens missing")
	}
}
