package web_test

import (
	"context"
	"errors"
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
	web.New(web.Options{Locate: func() web.Locations { return web.Locations{Agent: "127.0.0.1:9"} }, SignIns: web.NewSignIns(nil)}).Register(mux)
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
		{"/widget/rich.js", "javascript", "export function render", true},
		{"/widget/cometd.js", "javascript", "/genesys/cometd", true},
		{"/desk/signin-failed?why=used", "text/html", "already been used", false},
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
	if made[0].Code == "" || made[0].Code == made[1].Code {
		t.Fatalf("sign-in codes %q, %q", made[0].Code, made[1].Code)
	}
	again, err := web.EnsureDemo(ctx, st)
	if err != nil || len(again) != 0 {
		t.Fatalf("a second run made %+v, %v", again, err)
	}
	// Each code works once and gives its own account a token that signs it in.
	si := web.NewSignIns(st)
	for _, a := range made {
		got, token, err := si.Redeem(ctx, a.Code)
		if err != nil || got.ID != a.ID || token == "" {
			t.Fatalf("redeem %s: %+v %q %v", a.ID, got, token, err)
		}
		byToken, err := st.GetAgentByTokenHash(ctx, agent.HashToken(token))
		if err != nil || byToken.ID != a.ID || byToken.Type != a.Type || len(byToken.Queues) != 1 {
			t.Errorf("the new token of %s finds %+v, %v", a.ID, byToken, err)
		}
		if _, _, err := si.Redeem(ctx, a.Code); !errors.Is(err, web.ErrSignInUsed) {
			t.Errorf("second use of %s: %v", a.ID, err)
		}
	}
	for _, code := range []string{"", "nope", strings.Repeat("x", 65)} {
		if _, _, err := si.Redeem(ctx, code); !errors.Is(err, web.ErrSignInUnknown) {
			t.Errorf("redeem %q: %v", code, err)
		}
	}
}

// TestSignInLink follows a one-time link over HTTP: the first GET
// redirects to the desk with a working token in the fragment, the second
// leads to the "already used" page, an unknown code to the "not valid" one.
func TestSignInLink(t *testing.T) {
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
	mux := http.NewServeMux()
	web.New(web.Options{SignIns: web.NewSignIns(st)}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		resp, err := noFollow.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	link := web.SignInPath(made[0].Code)
	resp, _ := get(link)
	loc := resp.Header.Get("Location")
	token, ok := strings.CutPrefix(loc, "/desk/#token=")
	if resp.StatusCode != http.StatusSeeOther || !ok || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("first use: %d, Location %q, Cache-Control %q", resp.StatusCode, loc, resp.Header.Get("Cache-Control"))
	}
	if a, err := st.GetAgentByTokenHash(ctx, agent.HashToken(token)); err != nil || a.ID != "demo-agent" {
		t.Fatalf("the link's token finds %+v, %v", a, err)
	}
	for _, tt := range []struct {
		path, text string
	}{
		{link, "already been used"},
		{web.SignInPath("not-a-code"), "not valid"},
	} {
		resp, _ := get(tt.path)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/desk/signin-failed?") {
			t.Errorf("GET %s = %d, Location %q", tt.path, resp.StatusCode, loc)
			continue
		}
		resp, body := get(loc)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, tt.text) || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s = %d %q:\n%s", loc, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	// The supervisor's link is its own, still unused.
	if resp, _ := get(web.SignInPath(made[1].Code)); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("supervisor link: %d", resp.StatusCode)
	}
	noFollow.CloseIdleConnections()
}
