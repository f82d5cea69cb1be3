package web_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/confab/confab/client/agent"
	apiagent "github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/browsertest"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/server"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
	"github.com/confab/confab/internal/store/sqlite/sqlitetest"
)

// widgetINI turns inactivity alerts on; the node's clock is fake, so an
// alert comes only when the test advances it.
const widgetINI = `
[settings]
; the fake clock jumps past timeout-alert at once, faster than the widget's
; real-time push keepalives (every 15 s): protocol inactivity
; (flex-disconnect-timeout) is not what these tests check
flex-disconnect-timeout = 100000
[inactivity-control]
enabled = true
timeout-alert = 60
timeout-close = 3600
message-alert = Are you still there? This chat closes soon without an answer.
`

// widgetNode starts a real node on 127.0.0.1 with a fake clock and an agent
// account ("ana", token "tok-ana") of the built-in queue.
func widgetNode(t *testing.T) (*server.Server, *clock.Fake) {
	t.Helper()
	dir := sqlitetest.Dir(t) // an empty store of the current schema: no migrations to run
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddAgent(ctx, store.Agent{ID: "ana", Name: "Ana", TokenHash: apiagent.HashToken("tok-ana"), Type: store.UserAgent, Queues: []string{"default"}, Capacity: 5}); err != nil {
		t.Fatal(err)
	}
	st.Close(ctx)
	cfg, _, err := config.Parse("widget.ini", []byte(widgetINI))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	srv, err := server.New(ctx, server.Options{Config: cfg, DataDir: dir, Listen: "127.0.0.1:0", Clock: clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Routing retries a save that came before the history's record after
		// a delay on the node's clock, and Shutdown waits for it: keep the
		// fake clock moving while the node shuts down.
		stop := make(chan struct{})
		ticked := make(chan struct{})
		go func() {
			defer close(ticked)
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
					clk.Advance(100 * time.Millisecond)
				}
			}
		}()
		srv.Shutdown(ctx)
		close(stop)
		<-ticked
	})
	return srv, clk
}

// cutProxy is a TCP proxy between the browser and the node: Cut breaks
// every connection through it and refuses new ones until Restore — a
// network drop as the browser sees it.
type cutProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	mu     sync.Mutex // guards the following
	down   bool
	mute   bool // answers are dropped: requests reach the node, nothing comes back
	conns  map[net.Conn]bool
	closed bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *cutProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down || p.closed {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up, true)
		go p.pipe(up, c, false)
	}
}

// pipe copies src to dst; toBrowser says it carries the node's answers,
// which Mute drops.
func (p *cutProxy) pipe(dst, src net.Conn, toBrowser bool) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			mute := p.mute && toBrowser
			p.mu.Unlock()
			if !mute {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// Cut closes every connection and refuses new ones.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
}

// Mute drops everything the node sends from now on, on every connection,
// while the browser's requests still reach it.
func (p *cutProxy) Mute() {
	p.mu.Lock()
	p.mute = true
	p.mu.Unlock()
}

// Restore lets connections through again.
func (p *cutProxy) Restore() {
	p.mu.Lock()
	p.down, p.mute = false, false
	p.mu.Unlock()
}

func (p *cutProxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}

// goDesk is the agent side of a widget test: the agent protocol from Go,
// with every event of its session kept.
type goDesk struct {
	t   *testing.T
	c   *agent.Client
	sid string
	mu  sync.Mutex // guards the following
	evs []agent.Event
}

func dialDesk(t *testing.T, srv *server.Server, token string) *goDesk {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := agent.Dial(ctx, "http://"+srv.Addr(config.PortAgent), token, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &goDesk{t: t, c: c}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for f := range c.Frames() {
			if f.Type == agent.FrameEvents {
				d.mu.Lock()
				d.evs = append(d.evs, f.Events...)
				d.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		c.Close()
		<-done
	})
	return d
}

func (d *goDesk) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	d.t.Cleanup(cancel)
	return ctx
}

// accept takes the waiting chat (the pull way).
func (d *goDesk) accept(sid string) agent.Joined {
	d.t.Helper()
	j, err := d.c.Accept(d.ctx(), sid, agent.JoinOptions{Nickname: "Ana"})
	if err != nil {
		d.t.Fatalf("accept %s: %v", sid, err)
	}
	d.sid = sid
	return j
}

func (d *goDesk) send(m agent.Message) agent.Ack {
	d.t.Helper()
	a, err := d.c.Send(d.ctx(), d.sid, m)
	if err != nil {
		d.t.Fatalf("agent send %q: %v", m.Text, err)
	}
	return a
}

func (d *goDesk) notify(n agent.Notice) {
	d.t.Helper()
	if _, err := d.c.Notify(d.ctx(), d.sid, n); err != nil {
		d.t.Fatalf("agent notify %s: %v", n.Type, err)
	}
}

// wait returns the first event that ok accepts, waiting up to 10 s.
func (d *goDesk) wait(what string, ok func(agent.Event) bool) agent.Event {
	d.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		d.mu.Lock()
		for _, e := range d.evs {
			if ok(e) {
				d.mu.Unlock()
				return e
			}
		}
		d.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	d.t.Fatalf("the agent never saw %s", what)
	return agent.Event{}
}

// count is how many events ok accepts.
func (d *goDesk) count(ok func(agent.Event) bool) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, e := range d.evs {
		if ok(e) {
			n++
		}
	}
	return n
}

func message(text string) func(agent.Event) bool {
	return func(e agent.Event) bool { return e.Kind == "message" && e.Text == text }
}

// shopPage serves a page of another origin embedding the widget from base
// with the data attributes of the request's query (data-<name>=value).
func shopPage(t *testing.T) *httptest.Server {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var attrs strings.Builder
		for k, v := range q {
			if k != "base" {
				fmt.Fprintf(&attrs, ` data-%s="%s"`, html.EscapeString(k), html.EscapeString(v[0]))
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Garden shop</title></head>
<body><main><h1>Garden shop</h1><p>Seeds, tools and advice.</p></main>
<script src="%s/widget/widget.js" data-service="customer-support"%s></script></body></html>`, html.EscapeString(q.Get("base")), attrs.String())
	}))
	t.Cleanup(page.Close)
	return page
}

func shopURL(page *httptest.Server, base string, attrs ...string) string {
	q := url.Values{"base": {base}}
	for i := 0; i+1 < len(attrs); i += 2 {
		q.Set(attrs[i], attrs[i+1])
	}
	return page.URL + "/?" + q.Encode()
}

// chatOf reads the widget's stored chat id from the page's localStorage.
func chatOf(b *browser) string {
	b.t.Helper()
	b.poll(`Object.keys(localStorage).some(k => k.startsWith('confab-widget:') && JSON.parse(localStorage.getItem(k)).chatId)`)
	return eval[string](b, `JSON.parse(localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('confab-widget:')))).chatId`)
}

// downloaded clicks the control sel names with downloads going to a fresh
// directory and returns the file that arrives there.
func (b *browser) downloaded(t *testing.T, sel string) string {
	t.Helper()
	dir := t.TempDir()
	_, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir,
		BrowserContextID: chromedp.FromContext(b.ctx).BrowserContextID,
	})
	if err != nil {
		t.Fatalf("%s: download behaviour: %v", b.name, err)
	}
	b.do("download "+sel, chromedp.Click(chromedp.CSS(sel)))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".crdownload") {
				continue
			}
			if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && len(data) > 0 {
				return string(data)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: no download from %s", b.name, sel)
	return ""
}

// settledConsole returns the number of console errors once those the
// browser logged before this call have reached the collector (they arrive
// asynchronously): one round trip, then a short pause for the reader.
func (b *browser) settledConsole() int {
	b.t.Helper()
	eval[bool](b, `true`)
	time.Sleep(100 * time.Millisecond)
	return len(b.consoleErrors())
}

// networkFailure reports whether a console entry is the browser's own
// report of a request that found no network (what Chromium logs for every
// fetch or socket a cut connection breaks), which no page can prevent.
func networkFailure(e string) bool {
	return strings.HasPrefix(e, "Failed to load resource: net::ERR_") ||
		(strings.HasPrefix(e, "WebSocket connection to ") && strings.Contains(e, "failed"))
}

// widgetItems is the transcript as the widget shows it: index, kind and text of each item.
const widgetItems = `JSON.stringify([...document.querySelectorAll('[data-testid=chat-message]')].map(e => e.dataset.index + ':' + e.dataset.kind + ':' + e.textContent))`

// noDuplicates fails if the widget shows one event twice.
func noDuplicates(t *testing.T, b *browser) {
	t.Helper()
	if !eval[bool](b, `(() => { const ix = [...document.querySelectorAll('[data-testid=chat-message]')].map(e => e.dataset.index); return new Set(ix).size === ix.length })()`) {
		t.Fatalf("%s: the widget shows an event twice: %s", b.name, eval[string](b, widgetItems))
	}
}

func shownOnce(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('[data-testid=chat-message]')].filter(e => e.textContent.includes(%q)).length === 1`, text)
}

// startChat fills the pre-chat form and starts the chat with the mouse.
func startChat(b *browser, name, subject string) {
	b.t.Helper()
	b.do("open the widget", chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-open]`)), chromedp.Click(chromedp.CSS(`[data-testid=chat-open]`)))
	b.do("pre-chat", chromedp.SendKeys(chromedp.CSS(`[data-testid=prechat-name]`), name),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=prechat-subject]`), subject),
		chromedp.Click(chromedp.CSS(`[data-testid=prechat-start]`)))
	b.do("chat view", chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-input]`)))
}

func (b *browser) write(text string) {
	b.t.Helper()
	b.do("write "+text, chromedp.SendKeys(chromedp.CSS(`[data-testid=chat-input]`), text), chromedp.KeyEvent(kb.Enter))
}

func allocator(t *testing.T, exe string) context.Context {
	actx := browsertest.Allocator(t, exe, 1280, 900)
	root, cancelT := context.WithTimeout(actx, 150*time.Second)
	t.Cleanup(cancelT)
	// The first tab owns the browser; it stays open while the subtests
	// open their own browser contexts.
	first := newBrowser(t, root, "first")
	first.do("start", chromedp.Navigate("about:blank"))
	return first.ctx
}

// TestWidget drives the customer widget in headless Chromium against a real
// node (fake clock) on 127.0.0.1, always from a page of another origin (a
// second loopback port), with the agent on the agent protocol from Go. One
// browser and one node serve every subtest; each subtest has its own
// browser context (its own storage). No page may log an error.
func TestWidget(t *testing.T) {
	exe := browsertest.Chromium(t)
	srv, clk := widgetNode(t)
	base := "http://" + srv.Addr(config.PortWebAPI)
	page := shopPage(t)
	shots := screenshotDir(t)
	browserCtx := allocator(t, exe)
	var all []*browser
	drops := map[*browser][][2]int{} // console entries logged during a deliberate network drop
	defer func() {
		for _, b := range all {
			var errs []string
			for i, e := range b.consoleErrors() {
				if slices.ContainsFunc(drops[b], func(w [2]int) bool { return i >= w[0] && i < w[1] }) && networkFailure(e) {
					t.Logf("%s: during the network drop the browser logged %q", b.name, e)
					continue
				}
				errs = append(errs, e)
			}
			if len(errs) > 0 {
				t.Errorf("%s: browser console errors: %q", b.name, errs)
			}
		}
	}()
	open := func(t *testing.T, name string) *browser {
		b := newBrowser(t, browserCtx, name, chromedp.WithNewBrowserContext())
		all = append(all, b)
		return b
	}

	// A phone-sized customer, keyboard only, through a proxy that the test
	// cuts: rich messages, files both ways, typing and read receipts both
	// ways, a reload, a network drop, an inactivity alert, the end and the
	// transcript download.
	t.Run("rest", func(t *testing.T) {
		proxy := newCutProxy(t, srv.Addr(config.PortWebAPI))
		c := open(t, "rest customer")
		c.do("phone", chromedp.EmulateViewport(360, 740))
		c.do("open the shop", chromedp.Navigate(shopURL(page, proxy.URL(), "title", "Garden help", "color", "#1b7f3b", "position", "left")))
		c.do("launcher", chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-open]`)))
		// Themed by the data attributes.
		if got := eval[string](c, `getComputedStyle(document.querySelector('[data-testid=chat-open]')).backgroundColor + '|' + document.querySelector('[data-testid=chat-open]').textContent + '|' + document.getElementById('confab-widget').className`); got != "rgb(27, 127, 59)|Garden help|cfb cfb-left" {
			t.Errorf("theme: %s", got)
		}
		if bad := c.unnamedControls(); len(bad) > 0 {
			t.Errorf("launcher: controls without an accessible name: %v", bad)
		}
		// Keyboard only: the launcher, the form, the first message.
		c.do("keyboard open", chromedp.Focus(chromedp.CSS(`[data-testid=chat-open]`)), chromedp.KeyEvent(kb.Enter))
		c.poll(`document.activeElement && document.activeElement.dataset.testid === 'prechat-name'`)
		c.do("form", chromedp.KeyEvent("Robin"), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("robin@example.com"),
			chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("tomato seeds"), chromedp.KeyEvent(kb.Tab))
		c.poll(`document.activeElement && document.activeElement.dataset.testid === 'prechat-start'`)
		if bad := c.unnamedControls(); len(bad) > 0 {
			t.Errorf("pre-chat: controls without an accessible name: %v", bad)
		}
		c.do("start", chromedp.KeyEvent(kb.Enter))
		c.poll(`document.activeElement && document.activeElement.dataset.testid === 'chat-input'`)
		c.do("first message", chromedp.KeyEvent("Which tomatoes grow on a balcony?"), chromedp.KeyEvent(kb.Enter))
		c.poll(shownOnce("Which tomatoes grow on a balcony?"))
		// The panel fits the phone's width.
		if w := eval[float64](c, `document.querySelector('#confab-widget .cfb-panel').getBoundingClientRect().width`); w > 360 || w < 300 {
			t.Errorf("panel width %v at a 360 px viewport", w)
		}
		if eval[bool](c, `document.documentElement.scrollWidth > 360`) {
			t.Error("the page scrolls sideways at 360 px")
		}

		ana := dialDesk(t, srv, "tok-ana")
		ana.accept(chatOf(c))
		ana.wait("the first message", message("Which tomatoes grow on a balcony?"))
		c.poll(`[...document.querySelectorAll('[data-testid=chat-message][data-kind=ParticipantJoined][data-from-type=Agent]')].some(e => e.textContent.includes('Ana joined'))`)

		// Typing both ways.
		c.do("customer types", chromedp.KeyEvent("Also cucumbers"))
		ana.wait("the customer typing", func(e agent.Event) bool { return e.NoticeType == "TYPING_STARTED" && e.From.UserType == "CLIENT" })
		ana.notify(agent.Notice{Type: "TYPING_STARTED", Text: "Cherry"})
		c.poll(`document.querySelector('[data-testid=chat-typing]').textContent === 'Ana is typing…'`)

		// Rich messages: quick replies with their text, cards with a link, a
		// link in plain text; content the widget does not know shows the fallback.
		qr := ana.send(agent.Message{Text: "Balcony or window sill? (answer: Balcony / Window sill)", EventAttributes: map[string]any{
			"structured-content": map[string]any{"genesys-chat": map[string]any{"type": "Generic",
				"content": `{"type":"Message","contentType":"quick-replies","content":[{"id":1,"type":"quick-reply","action":"message","text":"Balcony"},{"id":2,"type":"quick-reply","action":"message","text":"Window sill"}]}`}}}})
		c.poll(`document.querySelector('[data-testid=chat-typing]').textContent === ''`)
		ana.send(agent.Message{Text: "Tiny Tim, dwarf cherry tomato: https://shop.example/tiny-tim\nBalconi Red, trailing: https://shop.example/balconi", EventAttributes: map[string]any{
			"structured-content": map[string]any{"genesys-chat": map[string]any{"type": "Generic",
				"content": `{"type":"Structured","contentType":"generic","content":[{"id":"1","title":"Tiny Tim","subtitle":"Dwarf cherry tomato, 30 cm.","actions":[{"id":"1a","type":"Url","text":"View Tiny Tim","url":"https://shop.example/tiny-tim"},{"id":"1b","type":"Postback","text":"Tiny Tim, please"}]},{"id":"2","title":"Balconi Red","subtitle":"Trailing, for hanging baskets.","actions":[{"id":"2a","type":"Url","text":"View Balconi Red","url":"https://shop.example/balconi"}]}]}`}}}})
		ana.send(agent.Message{Text: "Sowing calendar: https://shop.example/calendar", EventAttributes: map[string]any{
			"structured-content": map[string]any{"genesys-chat": map[string]any{"type": "Generic",
				"content": `{"type":"Structured","contentType":"buttons","content":[{"id":"1","type":"Url","text":"Sowing calendar","url":"https://shop.example/calendar"},{"id":"2","type":"Url","text":"Not a web link","url":"javascript:alert(1)"}]}`}}}})
		ana.send(agent.Message{Text: "Growing guide: https://shop.example/guide.", EventAttributes: map[string]any{
			"structured-content": map[string]any{"genesys-chat": map[string]any{"content": `{"contentType":"datepicker","content":{}}`}}}})
		c.do("quick replies", chromedp.WaitVisible(chromedp.CSS(`[data-rich=quick-replies] [data-testid=chat-quick-reply]`)))
		c.poll(`document.querySelectorAll('[data-rich=cards] [data-testid=chat-card]').length === 2 && !!document.querySelector('[data-rich=buttons]')`)
		if got := eval[string](c, `[...document.querySelectorAll('[data-rich=cards] [data-testid=chat-card-link], [data-rich=cards] [data-testid=chat-card-button]')].map(a => a.tagName + ':' + a.textContent + '>' + (a.href || '') + '>' + (a.target || '')).join(' ')`); got != "A:View Tiny Tim>https://shop.example/tiny-tim>_blank BUTTON:Tiny Tim, please>> A:View Balconi Red>https://shop.example/balconi>_blank" {
			t.Errorf("card actions: %s", got)
		}
		if got := eval[string](c, `[...document.querySelector('[data-rich=buttons] .cfb-buttons').querySelectorAll('a, span')].map(a => a.tagName + ':' + a.textContent + '>' + (a.href || '')).join(' ')`); got != "A:Sowing calendar>https://shop.example/calendar SPAN:Not a web link: javascript:alert(1)>" {
			t.Errorf("link buttons: %s", got)
		}
		if got := eval[string](c, `(() => { const a = [...document.querySelectorAll('.cfb-inline-link')].find(a => a.textContent.includes('guide')); return a ? a.href + '|' + a.closest('[data-testid=chat-message]').textContent : '' })()`); !strings.HasPrefix(got, "https://shop.example/guide|") || !strings.Contains(got, "Growing guide: https://shop.example/guide.") {
			t.Errorf("the unknown rich type does not show its fallback text with the link: %q", got)
		}
		if bad := c.unnamedControls(); len(bad) > 0 {
			t.Errorf("rich messages: controls without an accessible name: %v", bad)
		}
		c.screenshot(shots, "widget-phone-rich")
		// The quick reply, reached with the keyboard, answers the question.
		c.do("quick reply", chromedp.Focus(chromedp.CSS(`[data-testid=chat-quick-reply]:nth-child(1)`)), chromedp.KeyEvent(kb.Enter))
		got := ana.wait("the quick reply", message("Balcony"))
		if gp, _ := got.EventAttributes["general-properties"].(map[string]any); gp == nil || gp["related-event-id"] != fmt.Sprint(qr.EventID) {
			t.Errorf("quick reply attributes %v, want related-event-id %d", got.EventAttributes, qr.EventID)
		}
		c.poll(`[...document.querySelectorAll('[data-testid=chat-message][data-from-type=Client][data-kind=Message]')].some(e => e.textContent.includes('Balcony'))`)
		c.poll(`[...document.querySelectorAll('[data-testid=chat-quick-reply]')].every(b => b.disabled || b.offsetParent === null)`)

		// Read receipts both ways: the widget confirms what it showed; the
		// agent's confirmation marks the customer's messages seen.
		ana.wait("the customer's read confirmation", func(e agent.Event) bool {
			return e.NoticeType == "SYS_COMMAND" && e.Text == "read-confirm" && e.From.UserType == "CLIENT"
		})
		last := ana.wait("the quick reply", message("Balcony"))
		ana.notify(agent.Notice{Type: "SYS_COMMAND", Text: "read-confirm", UserData: map[string]any{"last-event-id": fmt.Sprint(last.EventID)}})
		c.poll(`[...document.querySelectorAll('.cfb-mine')].filter(e => e.querySelector('.cfb-seen')).length === 2`)

		// Files both ways, with the server's limits shown before the pick.
		files := t.TempDir()
		custFile, agentFile := filepath.Join(files, "balcony.txt"), filepath.Join(files, "guide.txt")
		os.WriteFile(custFile, []byte("2 m by 1 m, south facing"), 0o644)
		os.WriteFile(agentFile, []byte("water daily in July"), 0o644)
		c.poll(`!document.querySelector('[data-testid=chat-file-limits]').closest('[hidden]') && /up to 2.0 MB; .*txt.*; 3 left/.test(document.querySelector('[data-testid=chat-file-limits]').textContent)`)
		c.do("upload", chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=chat-file-input]`), []string{custFile}, chromedp.NodeReady))
		up := ana.wait("the customer's file", func(e agent.Event) bool {
			return e.NoticeType == "SYS_COMMAND" && e.Text == "file-uploaded" && e.UserData["file-name"] == "balcony.txt"
		})
		resp, err := agent.OpenDocument(ana.ctx(), http.DefaultClient, "http://"+srv.Addr(config.PortAgent), "tok-ana", fmt.Sprint(up.UserData["file-document-id"]))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "2 m by 1 m, south facing" {
			t.Errorf("the agent downloads %q", body)
		}
		c.poll(`/2 left/.test(document.querySelector('[data-testid=chat-file-limits]').textContent)`)
		doc, err := agent.UploadDocument(ana.ctx(), http.DefaultClient, "http://"+srv.Addr(config.PortAgent), "tok-ana", "guide.txt", "text/plain", strings.NewReader("water daily in July"))
		if err != nil {
			t.Fatal(err)
		}
		ana.notify(agent.Notice{Type: "SYS_COMMAND", Text: "file-uploaded", UserData: map[string]any{"file-document-id": doc.ID}})
		c.poll(`[...document.querySelectorAll('[data-testid=chat-message][data-from-type=Agent] [data-testid=chat-file]')].some(e => e.textContent.includes('guide.txt'))`)
		c.download(t, `[data-testid=chat-message][data-from-type=Agent] [data-testid=chat-file]`, "water daily in July")
		c.screenshot(shots, "widget-phone-files")

		// A reload mid-chat: the same items, each once, and the chat goes on.
		before := eval[string](c, widgetItems)
		c.do("reload", chromedp.Reload())
		c.poll(`document.querySelectorAll('[data-testid=chat-message]').length >= ` + fmt.Sprint(strings.Count(before, `","`)+1))
		if after := eval[string](c, widgetItems); after != before {
			t.Fatalf("after the reload the transcript is\n%s\nbefore it was\n%s", after, before)
		}
		ana.send(agent.Message{Text: "Back after your reload"})
		c.poll(shownOnce("Back after your reload"))

		// A network drop: the agent writes while the customer is cut off, and
		// a message the customer writes meanwhile fails; after the drop the
		// widget shows the missed message once and the retried one is added once.
		dropFrom := len(c.consoleErrors())
		proxy.Cut()
		c.poll(`document.querySelector('.cfb-status').textContent.includes('reconnecting')`)
		ana.send(agent.Message{Text: "Sent while you were offline"})
		c.write("Are you there?")
		c.poll(`document.querySelector('.cfb-status').textContent.includes('Not sent') && document.querySelector('[data-testid=chat-input]').value === 'Are you there?'`)
		proxy.Restore()
		c.poll(shownOnce("Sent while you were offline"))
		drops[c] = append(drops[c], [2]int{dropFrom, c.settledConsole()})
		c.do("send again", chromedp.Focus(chromedp.CSS(`[data-testid=chat-input]`)), chromedp.KeyEvent(kb.Enter))
		c.poll(shownOnce("Are you there?"))
		ana.wait("the retried message", message("Are you there?"))
		if n := ana.count(message("Are you there?")); n != 1 {
			t.Errorf("the agent got the retried message %d times", n)
		}
		// An answer lost on the way back: the node takes the message, the
		// connection dies before the widget hears so, and the customer sends
		// it again — with the same clientMessageId, so it is there once.
		dropFrom = len(c.consoleErrors())
		proxy.Mute()
		c.write("Did this arrive?")
		ana.wait("the message whose answer is lost", message("Did this arrive?"))
		proxy.Cut()
		c.poll(`document.querySelector('.cfb-status').textContent.includes('Not sent') && document.querySelector('[data-testid=chat-input]').value === 'Did this arrive?'`)
		proxy.Restore()
		c.do("send it again", chromedp.Focus(chromedp.CSS(`[data-testid=chat-input]`)), chromedp.KeyEvent(kb.Enter))
		c.poll(shownOnce("Did this arrive?") + ` && document.querySelector('[data-testid=chat-input]').value === '' && !document.querySelector('.cfb-status').textContent.includes('Not sent')`)
		ana.send(agent.Message{Text: "Yes, once"})
		c.poll(shownOnce("Yes, once"))
		if n := ana.count(message("Did this arrive?")); n != 1 {
			t.Errorf("the agent got the message sent twice %d times", n)
		}
		drops[c] = append(drops[c], [2]int{dropFrom, c.settledConsole()})
		noDuplicates(t, c)

		// An inactivity alert (the node's clock moves past timeout-alert).
		clk.Advance(61 * time.Second)
		c.poll(`[...document.querySelectorAll('[data-testid=chat-message][data-kind=IdleAlert]')].some(e => e.getAttribute('role') === 'alert' && e.textContent.includes('Are you still there?'))`)
		c.screenshot(shots, "widget-phone-alert")
		if bad := c.unnamedControls(); len(bad) > 0 {
			t.Errorf("conversation: controls without an accessible name: %v", bad)
		}

		// Escape minimises the panel and gives the focus back to the launcher;
		// Enter opens it again on the input.
		c.do("escape", chromedp.Focus(chromedp.CSS(`[data-testid=chat-input]`)), chromedp.KeyEvent(kb.Escape))
		c.poll(`document.querySelector('#confab-widget .cfb-panel').hidden && document.activeElement.dataset.testid === 'chat-open' && document.activeElement.getAttribute('aria-expanded') === 'false'`)
		c.do("reopen", chromedp.KeyEvent(kb.Enter))
		c.poll(`!document.querySelector('#confab-widget .cfb-panel').hidden && document.activeElement.dataset.testid === 'chat-input'`)

		// The end, with the keyboard: Tab from the input to "End chat".
		c.do("focus the input", chromedp.Focus(chromedp.CSS(`[data-testid=chat-input]`)))
		for i := 0; i < 8 && !eval[bool](c, `document.activeElement.dataset.testid === 'chat-end'`); i++ {
			c.do("tab", chromedp.KeyEvent(kb.Tab))
		}
		if !eval[bool](c, `document.activeElement.dataset.testid === 'chat-end'`) {
			t.Fatalf("Tab never reaches End chat (focus on %s)", eval[string](c, `document.activeElement.outerHTML.slice(0, 120)`))
		}
		c.do("end", chromedp.KeyEvent(kb.Enter))
		c.do("ended", chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-ended]`)))
		// The transcript stays readable; the controls to write are gone.
		if got := eval[string](c, `[...document.querySelectorAll('[data-testid=chat-message]')].filter(e => e.offsetParent !== null).length + ' ' + (document.querySelector('[data-testid=chat-input]').offsetParent === null)`); !strings.HasSuffix(got, " true") || strings.HasPrefix(got, "0 ") {
			t.Errorf("ended chat: visible items and input hidden: %s", got)
		}
		ana.wait("the customer leaving", func(e agent.Event) bool { return e.Kind == "partyLeft" && e.From.UserType == "CLIENT" })
		transcript := c.downloaded(t, `[data-testid=chat-transcript]`)
		for _, want := range []string{"Garden help", "You: Which tomatoes grow on a balcony?", "Ana: Sent while you were offline", "You: Balcony", "shared the file guide.txt", "Are you still there?"} {
			if !strings.Contains(transcript, want) {
				t.Errorf("the transcript download lacks %q:\n%s", want, transcript)
			}
		}
		if strings.Count(transcript, "Are you there?") != 1 {
			t.Errorf("the transcript download has the retried message %d times", strings.Count(transcript, "Are you there?"))
		}
		c.screenshot(shots, "widget-phone-ended")
		if bad := c.unnamedControls(); len(bad) > 0 {
			t.Errorf("ended: controls without an accessible name: %v", bad)
		}
	})
	// The CometD form of the API (data-transport="cometd"): the same chat,
	// quick replies and a reload, over /genesys/cometd.
	t.Run("cometd", func(t *testing.T) {
		proxy := newCutProxy(t, srv.Addr(config.PortWebAPI))
		c := open(t, "cometd customer")
		c.do("open the shop", chromedp.Navigate(shopURL(page, proxy.URL(), "transport", "cometd")))
		startChat(c, "Sky", "soil")
		c.write("Do you sell peat-free soil?")
		c.poll(shownOnce("Do you sell peat-free soil?"))
		ana := dialDesk(t, srv, "tok-ana")
		ana.accept(chatOf(c))
		ana.wait("the first message", message("Do you sell peat-free soil?"))
		ana.notify(agent.Notice{Type: "TYPING_STARTED"})
		c.poll(`document.querySelector('[data-testid=chat-typing]').textContent === 'Ana is typing…'`)
		ana.send(agent.Message{Text: "Yes. Which size: 20 l or 40 l?", EventAttributes: map[string]any{
			"structured-content": map[string]any{"genesys-chat": map[string]any{
				"content": `{"type":"Message","contentType":"quick-replies","content":[{"id":1,"type":"quick-reply","action":"message","text":"20 l"},{"id":2,"type":"quick-reply","action":"message","text":"40 l"}]}`}}}})
		c.do("quick reply", chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-quick-reply]`)),
			chromedp.Click(chromedp.CSS(`[data-testid=chat-quick-reply]:nth-child(2)`)))
		ana.wait("the quick reply", message("40 l"))
		ana.send(agent.Message{Text: "40 l bags are in stock"})
		c.poll(shownOnce("40 l bags are in stock"))
		// A network drop: the Bayeux socket breaks; after it the widget
		// handshakes again and asks for the events from its last position.
		dropFrom := len(c.consoleErrors())
		proxy.Cut()
		c.poll(`document.querySelector('.cfb-status').textContent.includes('reconnecting')`)
		ana.send(agent.Message{Text: "Sent during the drop"})
		proxy.Restore()
		c.poll(shownOnce("Sent during the drop"))
		drops[c] = append(drops[c], [2]int{dropFrom, c.settledConsole()})
		noDuplicates(t, c)
		before := eval[string](c, widgetItems)
		c.do("reload", chromedp.Reload())
		c.poll(shownOnce("40 l bags are in stock"))
		if after := eval[string](c, widgetItems); after != before {
			t.Fatalf("after the reload the transcript is\n%s\nbefore it was\n%s", after, before)
		}
		ana.send(agent.Message{Text: "Anything else?"})
		c.poll(shownOnce("Anything else?"))
		c.write("No, thanks")
		ana.wait("the last message", message("No, thanks"))
		noDuplicates(t, c)
		// It was CometD: the browser holds the Bayeux cookie, which only
		// /genesys/cometd sets.
		cookies, err := chromedp.Call(c.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{proxy.URL() + "/genesys/cometd"}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(cookies.Cookies, func(ck *network.Cookie) bool { return ck.Name == "BAYEUX_BROWSER" }) {
			t.Error("the widget in CometD mode never talked to /genesys/cometd (no BAYEUX_BROWSER cookie)")
		}
		if _, err := ana.c.Release(ana.ctx(), ana.sid, "FORCE_CLOSE", "Bye"); err != nil {
			t.Fatal(err)
		}
		c.do("ended", chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-ended]`)))
	})

	// Async mode (data-async="true"): the customer closes the tab, the agent
	// answers meanwhile, and a new tab of the same browser shows the answer.
	t.Run("async", func(t *testing.T) {
		holder := open(t, "async browser")
		holder.do("blank", chromedp.Navigate("about:blank"))
		tab := newBrowser(t, holder.ctx, "async tab 1")
		all = append(all, tab)
		shop := shopURL(page, base, "async", "true")
		tab.do("open the shop", chromedp.Navigate(shop))
		startChat(tab, "Lou", "delivery")
		tab.write("Can you deliver next week?")
		tab.poll(shownOnce("Can you deliver next week?"))
		ana := dialDesk(t, srv, "tok-ana")
		if j := ana.accept(chatOf(tab)); j.Interaction == nil || !j.Interaction.Async {
			t.Errorf("the interaction is not async: %+v", j.Interaction)
		}
		ana.wait("the first message", message("Can you deliver next week?"))
		if err := chromedp.Cancel(tab.ctx); err != nil {
			t.Fatalf("close the tab: %v", err)
		}
		ana.send(agent.Message{Text: "Yes, on Tuesday"})
		back := newBrowser(t, holder.ctx, "async tab 2")
		all = append(all, back)
		back.do("come back", chromedp.Navigate(shop))
		back.poll(shownOnce("Yes, on Tuesday") + " && " + shownOnce("Can you deliver next week?"))
		back.write("Tuesday is fine")
		ana.wait("the answer after coming back", message("Tuesday is fine"))
		noDuplicates(t, back)
	})

	// The first run's one-time sign-in link: the first use signs the desk
	// in, a second use gets a page that says the link was used.
	t.Run("first-run", func(t *testing.T) {
		demo, links := node(t)
		demoBase := "http://" + demo.Addr(config.PortWebAPI)
		if !strings.HasPrefix(links["demo-agent"], demoBase+"/desk/signin/") {
			t.Fatalf("sign-in link %q", links["demo-agent"])
		}
		start := open(t, "start page")
		start.do("start page", chromedp.EmulateViewport(1000, 700), chromedp.Navigate(demoBase+"/"), chromedp.WaitVisible(chromedp.CSS(`a[href="/desk/"]`)))
		start.screenshot(shots, "start-page")
		if bad := start.unnamedControls(); len(bad) > 0 {
			t.Errorf("start page: controls without an accessible name: %v", bad)
		}
		d := open(t, "first-run desk")
		d.do("sign in", chromedp.Navigate(links["demo-agent"]))
		d.poll(`location.pathname === '/desk/' && location.hash === '' && !!sessionStorage.getItem('confab-desk-token')`)
		d.poll(`document.querySelector('[data-testid=desk-state-shown]').dataset.state === 'not-ready'`)
		again := open(t, "second use")
		again.do("second use", chromedp.Navigate(links["demo-agent"]))
		again.poll(`(document.querySelector('[data-testid=signin-error]') || {}).textContent === 'This sign-in link has already been used'`)
		again.screenshot(shots, "signin-used")
		if got := eval[string](again, `location.pathname + ' ' + !sessionStorage.getItem('confab-desk-token')`); got != "/desk/signin-failed true" {
			t.Errorf("the used link led to %s", got)
		}
		// The supervisor's link is still good.
		sup := open(t, "first-run supervisor")
		sup.do("sign in", chromedp.Navigate(links["demo-supervisor"]))
		sup.do("console", chromedp.WaitVisible(chromedp.CSS(`#console`)))
	})
}
