package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/confab/confab/internal/browsertest"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/server"
)

// node starts a real server on 127.0.0.1 with the first-run demo accounts
// and returns it with the sign-in links it printed.
func node(t *testing.T) (*server.Server, map[string]string) {
	t.Helper()
	var out bytes.Buffer
	srv, err := server.New(context.Background(), server.Options{
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", DemoAccounts: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	links := map[string]string{}
	re := regexp.MustCompile(`first run: \w+ (\S+) created; sign-in link \(shown once\): (\S+)`)
	for _, m := range re.FindAllStringSubmatch(out.String(), -1) {
		links[m[1]] = m[2]
	}
	if links["demo-agent"] == "" || links["demo-supervisor"] == "" {
		t.Fatalf("the first run printed no sign-in links:\n%s", out.String())
	}
	return srv, links
}

// browser is one browser context (its own storage) with its console
// errors collected.
type browser struct {
	t    *testing.T
	name string
	ctx  context.Context
	mu   sync.Mutex // guards the following
	errs []string
}

func newBrowser(t *testing.T, parent context.Context, name string, opts ...chromedp.ContextOption) *browser {
	ctx, cancel := chromedp.NewContext(parent, opts...)
	t.Cleanup(cancel)
	b := &browser{t: t, name: name, ctx: ctx}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.errs = append(b.errs, m.Text)
				b.mu.Unlock()
			}
		}
	}()
	return b
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

func (b *browser) poll(expr string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		html, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		b.t.Fatalf("%s: waiting for %s: %v\npage text:\n%s", b.name, expr, err, html)
	}
}

func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, expr, err)
	}
	return v
}

func (b *browser) screenshot(dir, name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("%s: screenshot: %v", b.name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// download clicks the control sel names and checks that the file it
// downloads holds want.
func (b *browser) download(t *testing.T, sel, want string) {
	t.Helper()
	if got := b.downloaded(t, sel); got != want {
		t.Fatalf("%s: the download from %s holds %q, want %q", b.name, sel, got, want)
	}
}

func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errs...)
}

// unnamedControls lists the focusable controls of the page's accessibility
// tree (as Chromium computes it) that have no accessible name.
func (b *browser) unnamedControls() []string {
	b.t.Helper()
	tree, err := chromedp.Call(b.ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		b.t.Fatalf("%s: accessibility tree: %v", b.name, err)
	}
	controls := map[string]bool{"button": true, "textbox": true, "combobox": true, "link": true, "tab": true,
		"checkbox": true, "radio": true, "searchbox": true, "listbox": true, "menuitem": true}
	var bad []string
	checked := 0
	for _, n := range tree.Nodes {
		if n.Ignored || n.Role == nil {
			continue
		}
		var role, name string
		json.Unmarshal(n.Role.Value, &role)
		if !controls[role] {
			continue
		}
		checked++
		if n.Name != nil {
			json.Unmarshal(n.Name.Value, &name)
		}
		if strings.TrimSpace(name) == "" {
			bad = append(bad, fmt.Sprintf("%s (backend node %d)", role, n.BackendDOMNodeID))
		}
	}
	if checked == 0 {
		b.t.Fatalf("%s: the accessibility tree has no control at all", b.name)
	}
	return bad
}

// screenshotDir is where the browser tests write their screenshots:
// $CONFAB_SCREENSHOTS (CONFAB_SCREENSHOTS=$PWD/docs/images refreshes the
// quickstart's), else confab-screenshots in the system's temporary
// directory, kept after the run for a reviewer and never in the repository.
func screenshotDir(t *testing.T) string {
	d := os.Getenv("CONFAB_SCREENSHOTS")
	if d == "" {
		d = filepath.Join(os.TempDir(), "confab-screenshots")
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", d)
	return d
}

// TestWidgetAndDesk drives headless Chromium against a real node: a
// customer on a page of another origin (a second loopback port) starts a
// chat in the widget with the keyboard alone, the demo agent signs in to
// the desk in a second browser context with the first run's link, sets
// itself ready, gets the router's offer and accepts it, and they write both
// ways with typing indicators; the customer's page reloads mid-chat and
// shows every message once; the supervisor sees the chat in the console;
// the agent transfers the chat to a second agent created through the admin
// API (refused while it is not ready, accepted once it is), who goes on with
// the customer, consults the first agent (INT, unseen by the customer) and
// ends the chat; the widget shows it.
// Every control of both pages has an accessible name, and no page logs an
// error.
func TestWidgetAndDesk(t *testing.T) {
	exe := browsertest.Chromium(t)
	srv, links := node(t)
	base := "http://" + srv.Addr(config.PortWebAPI)
	shots := screenshotDir(t)

	// A shop on another origin embeds the widget with one script tag.
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Other shop</title></head>
<body><main><h1>Another shop</h1></main>
<script src="%s/widget/widget.js" data-service="customer-support" data-title="Help" data-color="#8a2be2"></script></body></html>`, base)
	}))
	defer shop.Close()

	actx := browsertest.Allocator(t, exe, 1280, 900)
	root, cancelT := context.WithTimeout(actx, 90*time.Second)
	defer cancelT()
	customer := newBrowser(t, root, "customer")
	customer.do("start", chromedp.EmulateViewport(360, 740)) // a phone
	agent := newBrowser(t, customer.ctx, "agent", chromedp.WithNewBrowserContext())

	// The customer starts the chat with the keyboard only.
	customer.do("open the shop", chromedp.Navigate(shop.URL))
	customer.do("launcher", chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-open]`)))
	if bad := customer.unnamedControls(); len(bad) > 0 {
		t.Errorf("widget controls without an accessible name: %v", bad)
	}
	customer.do("keyboard start",
		chromedp.Focus(chromedp.CSS(`[data-testid=chat-open]`)),
		chromedp.KeyEvent(kb.Enter),
	)
	customer.poll(`document.activeElement && document.activeElement.dataset.testid === 'prechat-name'`)
	customer.do("fill the form", chromedp.KeyEvent("Kim"), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("kim@example.com"),
		chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("late order"))
	customer.screenshot(shots, "widget-prechat")
	if bad := customer.unnamedControls(); len(bad) > 0 {
		t.Errorf("pre-chat form controls without an accessible name: %v", bad)
	}
	customer.do("submit", chromedp.KeyEvent(kb.Enter))
	customer.poll(`document.activeElement && document.activeElement.dataset.testid === 'chat-input'`)
	customer.do("first message", chromedp.KeyEvent("Where is my order?"), chromedp.KeyEvent(kb.Enter))
	customer.poll(`[...document.querySelectorAll('[data-testid=chat-message][data-kind=Message][data-from-type=Client]')].some(e => e.textContent.includes('Where is my order?'))`)

	// The agent signs in with the first run's link and accepts.
	agent.do("open the desk", chromedp.Navigate(links["demo-agent"]))
	agent.poll(`location.hash === '' && !!sessionStorage.getItem('confab-desk-token')`)
	// Not ready: the router offers nothing; the waiting list shows the chat.
	agent.poll(`document.querySelector('[data-testid=desk-state-shown]').dataset.state === 'not-ready' && document.querySelectorAll('[data-testid=desk-waiting]').length === 1`)
	if n := eval[int](agent, `document.querySelectorAll('[data-testid=desk-offer]').length`); n != 0 {
		t.Fatalf("a not-ready agent has %d offers", n)
	}
	readyAndAccept(agent, "route", shots)
	agent.do("tab", chromedp.WaitVisible(chromedp.CSS(`[data-testid=desk-chat-tab]`)))
	agent.poll(`[...document.querySelectorAll('[data-testid=desk-event][data-kind=message]')].some(e => e.textContent.includes('Where is my order?'))`)
	customer.poll(`[...document.querySelectorAll('[data-testid=chat-message]')].some(e => e.dataset.fromType === 'Agent' && e.dataset.kind === 'ParticipantJoined')`)

	// Typing both ways, then messages both ways.
	customer.do("customer types", chromedp.SendKeys(chromedp.CSS(`[data-testid=chat-input]`), "It was due on"))
	agent.poll(`document.querySelector('[data-testid=desk-typing]').textContent.includes('Kim is typing')`)
	agent.do("agent types", chromedp.SendKeys(chromedp.CSS(`[data-testid=desk-input]`), "Let me check that for you"))
	customer.poll(`document.querySelector('[data-testid=chat-typing]').textContent.includes('is typing')`)
	agent.do("agent sends", chromedp.Click(chromedp.CSS(`[data-testid=desk-send]`)))
	customer.poll(`[...document.querySelectorAll('[data-testid=chat-message][data-from-type=Agent][data-kind=Message]')].some(e => e.textContent.includes('Let me check that for you'))`)
	customer.poll(`document.querySelector('[data-testid=chat-typing]').textContent === ''`)
	customer.do("customer sends", chromedp.Click(chromedp.CSS(`[data-testid=chat-send]`)))
	agent.poll(`[...document.querySelectorAll('[data-testid=desk-event][data-kind=message]')].some(e => e.textContent.includes('It was due on'))`)
	// An internal note stays among agents.
	agent.do("internal note",
		chromedp.SetValue(chromedp.CSS(`[data-testid=desk-visibility]`), "INT"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=desk-input]`), "customer is VIP-ish"),
		chromedp.Click(chromedp.CSS(`[data-testid=desk-send]`)))
	agent.poll(`[...document.querySelectorAll('[data-testid=desk-event][data-visibility=INT]')].some(e => e.textContent.includes('INT') && e.textContent.includes('customer is VIP-ish'))`)
	// A file each way, downloaded on the other side.
	files := t.TempDir()
	custFile, agentFile := filepath.Join(files, "receipt.txt"), filepath.Join(files, "label.txt")
	os.WriteFile(custFile, []byte("receipt 42 from the customer"), 0o644)
	os.WriteFile(agentFile, []byte("shipping label from the agent"), 0o644)
	customer.poll(`!document.querySelector('[data-testid=chat-file-limits]').closest('[hidden]') && document.querySelector('[data-testid=chat-file-limits]').textContent.includes('txt')`)
	customer.do("customer uploads", chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=chat-file-input]`), []string{custFile}, chromedp.NodeReady))
	agent.poll(`[...document.querySelectorAll('[data-testid=desk-file]')].some(e => e.textContent.includes('receipt.txt'))`)
	agent.download(t, `[data-testid=desk-file]`, "receipt 42 from the customer")
	agent.do("agent uploads", chromedp.SetValue(chromedp.CSS(`[data-testid=desk-visibility]`), "ALL"), chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=desk-file-input]`), []string{agentFile}, chromedp.NodeReady))
	customer.poll(`[...document.querySelectorAll('[data-testid=chat-message][data-from-type=Agent] [data-testid=chat-file]')].some(e => e.textContent.includes('label.txt'))`)
	customer.download(t, `[data-testid=chat-message][data-from-type=Agent] [data-testid=chat-file]`, "shipping label from the agent")

	agent.screenshot(shots, "desk-chat")
	customer.screenshot(shots, "widget-chat")
	if bad := customer.unnamedControls(); len(bad) > 0 {
		t.Errorf("conversation controls without an accessible name: %v", bad)
	}

	// The customer's page reloads mid-chat: the same items, each once.
	items := `JSON.stringify([...document.querySelectorAll('[data-testid=chat-message]')].map(e => e.dataset.index + ':' + e.dataset.kind + ':' + e.textContent))`
	before := eval[string](customer, items)
	customer.do("reload", chromedp.Reload())
	customer.poll(`document.querySelectorAll('[data-testid=chat-message][data-kind=Message]').length >= 3`)
	if after := eval[string](customer, items); after != before {
		t.Fatalf("after the reload the transcript is\n%s\nbefore it was\n%s", after, before)
	}
	if strings.Contains(before, "VIP-ish") {
		t.Fatal("the customer sees the agent's internal note")
	}
	agent.do("agent sends after the reload", chromedp.SetValue(chromedp.CSS(`[data-testid=desk-visibility]`), "ALL"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=desk-input]`), "It ships today"), chromedp.KeyEvent(kb.Enter))
	customer.poll(`[...document.querySelectorAll('[data-testid=chat-message][data-kind=Message]')].filter(e => e.textContent.includes('It ships today')).length === 1`)
	if n := eval[int](customer, `new Set([...document.querySelectorAll('[data-testid=chat-message]')].map(e => e.dataset.index)).size === document.querySelectorAll('[data-testid=chat-message]').length ? 0 : 1`); n != 0 {
		t.Fatal("the widget shows an event twice")
	}

	// The supervisor's console shows the live chat; the supervisor monitors it.
	sup := newBrowser(t, customer.ctx, "supervisor", chromedp.WithNewBrowserContext())
	sup.do("open the desk", chromedp.Navigate(links["demo-supervisor"]))
	sup.do("console", chromedp.WaitVisible(chromedp.CSS(`#console`)))
	sup.poll(`Number((document.querySelector('[data-kpi=session_current]') || {}).textContent) >= 1`)
	adminTok, err := os.ReadFile(filepath.Join(srv.DataDir(), "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	sup.do("live chat", chromedp.WaitVisible(chromedp.CSS(`[data-testid=console-monitor]`)))
	sup.do("monitor", chromedp.Click(chromedp.CSS(`[data-testid=console-monitor]`)))
	sup.poll(`[...document.querySelectorAll('[data-testid=desk-event][data-visibility=INT]')].some(e => e.textContent.includes('customer is VIP-ish'))`)
	if typing := eval[string](sup, `document.querySelector('[data-testid=desk-typing]').textContent`); typing != "" {
		t.Errorf("the supervisor sees a typing preview %q after the agent's last message", typing)
	}
	sup.screenshot(shots, "console")
	if bad := sup.unnamedControls(); len(bad) > 0 {
		t.Errorf("console controls without an accessible name: %v", bad)
	}

	// The supervisor leaves, the agent ends the chat; the widget says so.
	sup.do("leave", chromedp.Click(chromedp.CSS(`[data-testid=desk-end]`)))
	sup.do("left", chromedp.WaitVisible(chromedp.CSS(`[data-testid=desk-close-tab]`)))
	if bad := agent.unnamedControls(); len(bad) > 0 {
		t.Errorf("desk controls without an accessible name: %v", bad)
	}
	agent.poll(`document.querySelector('[data-testid=desk-history]').textContent.includes('No earlier chat')`)

	// A second agent, created through the admin API, signs in in a third
	// context; the first transfers the chat to it and the customer goes on.
	bobLink := createAgent(t, srv, base, strings.TrimSpace(string(adminTok)), "bob")
	bob := newBrowser(t, customer.ctx, "bob", chromedp.WithNewBrowserContext())
	bob.do("open the desk", chromedp.Navigate(bobLink))
	bob.poll(`location.hash === '' && document.querySelector('[data-testid=desk-state-shown]').dataset.state === 'not-ready'`)
	agent.do("transfer to bob",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=desk-transfer-to]`), "bob"),
		chromedp.Click(chromedp.CSS(`[data-testid=desk-transfer]`)))
	agent.poll(`document.querySelector('[data-testid=desk-transfer-answer]').textContent.includes('refused')`) // bob is not ready yet
	readyAndAccept(bob, "transfer", shots)
	// Now bob is ready: the same transfer is offered to him.
	agent.do("transfer again", chromedp.Click(chromedp.CSS(`[data-testid=desk-transfer]`)))
	bob.do("transfer offer", chromedp.WaitVisible(chromedp.CSS(`[data-testid=desk-offer][data-kind=transfer] [data-testid=offer-accept]`)))
	bob.poll(`/^\d+ s$/.test(document.querySelector('[data-testid=offer-countdown]').textContent)`)
	bob.do("accept the transfer", chromedp.Click(chromedp.CSS(`[data-testid=offer-accept]`)))
	agent.poll(`document.querySelector('[data-testid=desk-transfer-answer]').textContent.includes('accepted')`)
	agent.do("handed over", chromedp.WaitVisible(chromedp.CSS(`[data-testid=desk-close-tab]`)))
	bob.do("bob's tab", chromedp.WaitVisible(chromedp.CSS(`[data-testid=desk-chat-tab]`)))
	customer.do("customer writes to bob", chromedp.SendKeys(chromedp.CSS(`[data-testid=chat-input]`), "Thanks, anyone there?"), chromedp.KeyEvent(kb.Enter))
	bob.poll(`[...document.querySelectorAll('[data-testid=desk-event][data-kind=message]')].some(e => e.textContent.includes('Thanks, anyone there?'))`)
	bob.do("bob answers", chromedp.SendKeys(chromedp.CSS(`[data-testid=desk-input]`), "Bob here"), chromedp.KeyEvent(kb.Enter))
	customer.poll(`[...document.querySelectorAll('[data-testid=chat-message][data-from-type=Agent][data-kind=Message]')].some(e => e.textContent.includes('Bob here'))`)
	bob.screenshot(shots, "desk-transferred")
	if bad := bob.unnamedControls(); len(bad) > 0 {
		t.Errorf("second desk controls without an accessible name: %v", bad)
	}
	// Bob consults the first agent (INT): it joins unseen by the customer.
	bob.do("consult", chromedp.SetValue(chromedp.CSS(`[data-testid=desk-transfer-mode]`), "INT"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=desk-transfer-to]`), "demo-agent"),
		chromedp.Click(chromedp.CSS(`[data-testid=desk-transfer]`)))
	agent.do("invite offer", chromedp.WaitVisible(chromedp.CSS(`[data-testid=desk-offer][data-kind=invite] [data-testid=offer-accept]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=offer-accept]`)))
	bob.poll(`document.querySelector('[data-testid=desk-transfer-answer]').textContent.includes('accepted')`)
	// The ended tab of the transferred chat gives way to the consultation's fresh one.
	agent.poll(`document.querySelectorAll('[data-testid=desk-input]').length === 1 && !document.querySelector('[data-testid=desk-input]').disabled`)
	agent.do("consult note",
		chromedp.SetValue(chromedp.CSS(`[data-testid=desk-visibility]`), "INT"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=desk-input]`), "refund is fine"), chromedp.KeyEvent(kb.Enter))
	bob.poll(`[...document.querySelectorAll('[data-testid=desk-event][data-visibility=INT]')].some(e => e.textContent.includes('refund is fine'))`)
	if seen := eval[string](customer, `document.body.innerText`); strings.Contains(seen, "refund is fine") {
		t.Fatal("the customer sees the consultation")
	}
	bob.do("end", chromedp.SetValue(chromedp.CSS(`[data-testid=desk-after-action]`), "FORCE_CLOSE"), chromedp.Click(chromedp.CSS(`[data-testid=desk-end]`)))
	customer.do("ended", chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-ended]`)))
	if href := eval[string](customer, `document.querySelector('[data-testid=chat-transcript]').href`); !strings.HasPrefix(href, "blob:") {
		t.Errorf("transcript download link %q", href)
	}
	customer.screenshot(shots, "widget-ended")
	if bad := customer.unnamedControls(); len(bad) > 0 {
		t.Errorf("ended widget controls without an accessible name: %v", bad)
	}

	// The node's own pages: the demo shop with the widget, and the start page.
	demo := newBrowser(t, customer.ctx, "demo", chromedp.WithNewBrowserContext())
	demo.do("demo page", chromedp.Navigate(base+"/widget/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-open]`)))
	demo.screenshot(shots, "widget-demo")
	demo.do("start page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`a[href="/desk/"]`)))

	for _, b := range []*browser{customer, agent, sup, bob, demo} {
		if errs := b.consoleErrors(); len(errs) > 0 {
			t.Errorf("%s: browser console errors: %q", b.name, errs)
		}
	}
	t.Logf("screenshots in %s", shots)
}

// readyAndAccept sets the desk's agent ready through the state control and
// accepts the offer of the given kind the router then makes, checking its
// countdown.
// The desk with the offer is screenshot as desk-offer.png into dir.
func readyAndAccept(b *browser, kind, dir string) {
	b.t.Helper()
	b.poll(`document.querySelector('[data-testid=desk-state-shown]').dataset.state === 'not-ready'`) // signed in
	if !eval[bool](b, `(s => { s.value = 'ready'; s.dispatchEvent(new Event('change')); return true })(document.querySelector('[data-testid=desk-state]'))`) {
		b.t.Fatalf("%s: the state control did not change", b.name)
	}
	b.poll(`document.querySelector('[data-testid=desk-state-shown]').dataset.state === 'ready'`)
	if kind != "route" {
		return
	}
	b.do("offer", chromedp.WaitVisible(chromedp.CSS(`[data-testid=desk-offer][data-kind=route] [data-testid=offer-accept]`)))
	b.poll(`/^\d+ s$/.test(document.querySelector('[data-testid=offer-countdown]').textContent) && document.title.startsWith('(1)')`)
	b.screenshot(dir, "desk-offer")
	b.do("accept", chromedp.Click(chromedp.CSS(`[data-testid=offer-accept]`)))
	b.poll(`document.querySelectorAll('[data-testid=desk-offer]').length === 0`)
}

// createAgent adds an agent account of the demo queue through the admin API
// and returns its desk sign-in link.
func createAgent(t *testing.T, srv *server.Server, base, adminToken, id string) string {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"name":"Bob","type":"AGENT","queues":["default"],"capacity":3}`, id)
	req, _ := http.NewRequest(http.MethodPost, "http://"+srv.Addr(config.PortAgent)+"/api/v1/agents", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var acc struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&acc); err != nil || resp.StatusCode != http.StatusCreated || acc.Token == "" {
		t.Fatalf("POST /api/v1/agents = %d, token %q, %v", resp.StatusCode, acc.Token, err)
	}
	return base + "/desk/#token=" + acc.Token
}

// TestDeskHoldAndHistory drives the desk's workbin and history: the demo
// agent serves a customer's first chat and ends it; the same customer
// (same email) starts an async chat, which the agent accepts with the
// first chat listed beside it, holds to its workbin and gets back as a
// wake offer when the customer writes again.
func TestDeskHoldAndHistory(t *testing.T) {
	exe := browsertest.Chromium(t)
	srv, links := node(t)
	base := "http://" + srv.Addr(config.PortWebAPI)
	shots := screenshotDir(t)
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Async shop</title></head>
<body><main><h1>Async shop</h1></main>
<script src="%s/widget/widget.js" data-service="customer-support" data-async="true"></script></body></html>`, base)
	}))
	defer shop.Close()
	actx := browsertest.Allocator(t, exe, 1280, 900)
	root, cancelT := context.WithTimeout(actx, 60*time.Second)
	defer cancelT()
	customer := newBrowser(t, root, "customer")
	agent := newBrowser(t, customer.ctx, "agent", chromedp.WithNewBrowserContext())

	start := func(subject, text string) {
		customer.do("prechat "+subject,
			chromedp.SetValue(chromedp.CSS(`[data-testid=prechat-name]`), "Lee"),
			chromedp.SetValue(chromedp.CSS(`[data-testid=prechat-email]`), "lee@example.com"),
			chromedp.SetValue(chromedp.CSS(`[data-testid=prechat-subject]`), subject),
			chromedp.Click(chromedp.CSS(`[data-testid=prechat-start]`)))
		customer.do("write "+text, chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-input]`)),
			chromedp.SendKeys(chromedp.CSS(`[data-testid=chat-input]`), text), chromedp.KeyEvent(kb.Enter))
	}
	customer.do("open the shop", chromedp.Navigate(shop.URL), chromedp.Click(chromedp.CSS(`[data-testid=chat-open]`)))
	start("broken lamp", "My lamp flickers")
	agent.do("open the desk", chromedp.Navigate(links["demo-agent"]))
	readyAndAccept(agent, "route", shots)
	agent.poll(`[...document.querySelectorAll('[data-testid=desk-event][data-kind=message]')].some(e => e.textContent.includes('My lamp flickers'))`)
	agent.do("end the first chat", chromedp.Click(chromedp.CSS(`[data-testid=desk-end]`)))
	customer.do("first ended", chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-new]`)), chromedp.Click(chromedp.CSS(`[data-testid=chat-new]`)))
	agent.do("close the first tab", chromedp.Click(chromedp.CSS(`[data-testid=desk-close-tab]`)))

	// The second chat: offered (to the agent who served the contact last),
	// with the first one beside it.
	start("lamp again", "Still flickering")
	agent.do("second offer", chromedp.WaitVisible(chromedp.CSS(`[data-testid=offer-accept]`)))
	agent.do("accept", chromedp.Click(chromedp.CSS(`[data-testid=offer-accept]`)))
	agent.poll(`[...document.querySelectorAll('[data-testid=desk-event][data-kind=message]')].some(e => e.textContent.includes('Still flickering'))`)
	agent.poll(`[...document.querySelectorAll('[data-testid=desk-history-item]')].some(e => e.textContent.includes('broken lamp') && e.textContent.includes('My lamp flickers'))`)
	if bad := agent.unnamedControls(); len(bad) > 0 {
		t.Errorf("desk controls without an accessible name: %v", bad)
	}

	// Hold to the workbin; the customer's next message wakes the chat.
	agent.do("hold", chromedp.WaitVisible(chromedp.CSS(`[data-testid=desk-hold]`)), chromedp.Click(chromedp.CSS(`[data-testid=desk-hold]`)))
	agent.poll(`[...document.querySelectorAll('[data-testid=desk-workbin-item]')].some(e => e.textContent.includes('lamp again'))`)
	agent.screenshot(shots, "desk-workbin")
	customer.do("write while held", chromedp.SendKeys(chromedp.CSS(`[data-testid=chat-input]`), "Hello again"), chromedp.KeyEvent(kb.Enter))
	agent.do("wake offer", chromedp.WaitVisible(chromedp.CSS(`[data-testid=desk-offer][data-kind=wake] [data-testid=offer-accept]`)))
	agent.do("accept the wake", chromedp.Click(chromedp.CSS(`[data-testid=offer-accept]`)))
	agent.poll(`[...document.querySelectorAll('[data-testid=desk-chat-tab]')].length === 1 && [...document.querySelectorAll('[data-testid=desk-event][data-kind=message]')].some(e => e.textContent.includes('Hello again'))`)

	for _, b := range []*browser{customer, agent} {
		if errs := b.consoleErrors(); len(errs) > 0 {
			t.Errorf("%s: browser console errors: %q", b.name, errs)
		}
	}
}
