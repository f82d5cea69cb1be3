package cometd_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/confab/confab/internal/browsertest"
	"github.com/confab/confab/internal/chat"
)

// TestBrowserDialogue runs the stock cometd JavaScript client (npm
// cometd 9.0.0, vendored in testdata/browser/cometd) in headless Chromium,
// on a page of another origin allowed by [cors], through the whole Chat
// API v2 dialogue: handshake, request chat, messages both ways with an
// agent, page reload and requestNotifications, disconnect — once over
// websocket and once over long-polling (which sends credentials, so it
// needs the CORS answer with Access-Control-Allow-Credentials).
func TestBrowserDialogue(t *testing.T) {
	exe := browsertest.Chromium(t)
	page := httptest.NewServer(http.FileServer(http.Dir("testdata/browser")))
	defer page.Close()
	for _, transport := range []string{"websocket", "long-polling"} {
		t.Run(transport, func(t *testing.T) {
			h := start(t, setup{real: true, origins: page.URL})
			browserDialogue(t, h, exe, page.URL+"/chat.html?transport="+transport+"&api="+h.url, transport)
		})
	}
}

func browserDialogue(t *testing.T, h *harness, exe, url, transport string) {
	actx := browsertest.Allocator(t, exe, 0, 0, chromedp.Flag("disable-quic", true))
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer cancelT()

	eval := func(expr string) any {
		t.Helper()
		return evalJS[any](t, ctx, expr)
	}
	poll := func(expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			texts, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`t.texts()`))
			t.Fatalf("waiting for %s: %v (page has %q)", expr, err, texts)
		}
	}
	open := func() {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
			t.Fatalf("navigate: %v", err)
		}
		poll(`window.ready === true`)
		if got := evalJS[string](t, ctx, `t.open()`); got != transport {
			t.Fatalf("the client negotiated %q, want %q", got, transport)
		}
	}

	// Handshake, subscribe, request chat.
	open()
	eval(`t.publish({operation: "requestChat", nickname: "Ann", userData: {GCTI_LanguageCode: "en"}, secureKey: "", userId: "", alias: "", chatId: ""})`)
	poll(`t.key() !== ""`)
	chatID := evalJS[string](t, ctx, `t.deliveries[0].chatId`)
	s, err := h.engine.Get(chatID)
	if err != nil {
		t.Fatalf("chat %q: %v", chatID, err)
	}

	// An agent joins and writes; the customer answers.
	agent := join(t, s)
	say(t, s, agent, "Hello from Anna")
	poll(`t.texts().includes("3:Message:Hello from Anna")`)
	eval(`t.publish({operation: "sendMessage", message: "I need help", messageType: "text", secureKey: t.key()})`)
	waitFor(t, func() bool { return lastText(s, agent) == "I need help" })
	poll(`t.texts().includes("4:Message:I need help")`)

	// Reload: a new page and client, the same browser; requestNotifications
	// from index 1 gives the whole transcript, then the feed goes on.
	open()
	if n := evalJS[int](t, ctx, `t.deliveries.length`); n != 0 {
		t.Fatalf("a reloaded page has %d deliveries", n)
	}
	eval(`t.publish({operation: "requestNotifications", transcriptPosition: 1, secureKey: t.key(), chatId: "` + chatID + `", userId: "", alias: ""})`)
	poll(`t.texts().includes("3:Message:Hello from Anna") && t.texts().includes("4:Message:I need help")`)
	say(t, s, agent, "Welcome back")
	poll(`t.texts().includes("5:Message:Welcome back")`)
	texts := evalJS[[]string](t, ctx, `t.texts()`)
	if !slices.IsSortedFunc(texts, func(a, b string) int { return atoi(a) - atoi(b) }) || hasDup(texts) {
		t.Errorf("events out of order or repeated after the reload: %q", texts)
	}

	// Disconnect.
	eval(`t.publish({operation: "disconnect", secureKey: t.key()})`)
	poll(`t.ended()`)
	eval(`t.close()`)
	waitFor(t, func() bool {
		evs, _, _, _ := s.Read(agent.UserID, 0, nil)
		for _, e := range evs {
			if e.Kind == chat.PartyLeft && e.From.Type == chat.Client {
				return true
			}
		}
		return false
	})
}

// evalJS evaluates expr in the page, awaiting a promise it returns.
func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func lastText(s *chat.Session, viewer chat.Participant) string {
	evs, _, _, _ := s.Read(viewer.UserID, 0, nil)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Kind == chat.Message {
			return evs[i].Text
		}
	}
	return ""
}

// waitFor polls cond (the server's side of a browser action) for 20 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s[:strings.IndexByte(s, ':')] {
		n = n*10 + int(c-'0')
	}
	return n
}

func hasDup(xs []string) bool {
	seen := map[string]bool{}
	for _, x := range xs {
		if seen[x] {
			return true
		}
		seen[x] = true
	}
	return false
}
