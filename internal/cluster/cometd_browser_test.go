package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/confab/confab/internal/browsertest"
)

// balancer is the load balancer in front of a test cluster: a TCP proxy
// on 127.0.0.1 whose new connections go to the node it points at (as a
// balancer does once a node's /readyz fails); connections already open
// stay on their node until one side closes them.
type balancer struct {
	ln net.Listener
	wg sync.WaitGroup

	mu     sync.Mutex // guards the following
	target string
	conns  map[net.Conn]bool
}

func newBalancer(t *testing.T, target string) *balancer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lb := &balancer{ln: ln, target: target, conns: map[net.Conn]bool{}}
	lb.wg.Add(1)
	go lb.serve()
	t.Cleanup(lb.close)
	return lb
}

func (lb *balancer) URL() string { return "http://" + lb.ln.Addr().String() }

func (lb *balancer) point(target string) {
	lb.mu.Lock()
	lb.target = target
	lb.mu.Unlock()
}

func (lb *balancer) serve() {
	defer lb.wg.Done()
	for {
		c, err := lb.ln.Accept()
		if err != nil {
			return
		}
		lb.mu.Lock()
		target := lb.target
		lb.mu.Unlock()
		up, err := net.DialTimeout("tcp", target, 2*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		lb.mu.Lock()
		lb.conns[c], lb.conns[up] = true, true
		lb.mu.Unlock()
		lb.wg.Add(2)
		go lb.pipe(up, c)
		go lb.pipe(c, up)
	}
}

func (lb *balancer) pipe(dst, src net.Conn) {
	defer lb.wg.Done()
	io.Copy(dst, src)
	dst.Close()
	src.Close()
	lb.mu.Lock()
	delete(lb.conns, dst)
	delete(lb.conns, src)
	lb.mu.Unlock()
}

func (lb *balancer) close() {
	lb.ln.Close()
	lb.mu.Lock()
	for c := range lb.conns {
		c.Close()
	}
	lb.mu.Unlock()
	lb.wg.Wait()
}

// TestCometDWidgetInACluster drives Confab's widget in CometD mode
// (data-transport="cometd") in headless Chromium through a load balancer
// in front of 3 real nodes: the node serving it drains (the balancer
// points at the next one, the widget's held connect is told to handshake
// again, and it resumes there from its position), then that node is
// killed with SIGKILL (the socket breaks; the widget resumes on the last
// node). Each message is shown once and stored once.
func TestCometDWidgetInACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real servers and a browser")
	}
	exe := browsertest.Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	phase := func(what string) { t.Logf("%v: %s", time.Since(began).Round(time.Millisecond), what) }
	nodes, _, dsn := startCluster(t, ctx, 3, 0)
	phase("3 nodes up")
	a, b, c := nodes[0], nodes[1], nodes[2]
	addr := func(n *node) string { return n.p.URLs.WebAPI[len("http://"):] }
	lb := newBalancer(t, addr(a))
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Shop</title></head>
<body><main><h1>Shop</h1></main><script src="%s/widget/widget.js" data-service="%s" data-transport="cometd"></script></body></html>`,
			html.EscapeString(lb.URL()), service)
	}))
	defer page.Close()

	actx := browsertest.Allocator(t, exe, 1280, 900)
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	bctx, tcancel := context.WithTimeout(bctx, 90*time.Second)
	defer tcancel()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	poll := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			text, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("waiting for %s: %v\npage text:\n%s", what, err, text)
		}
	}
	shownOnce := func(text string) string {
		return fmt.Sprintf(`[...document.querySelectorAll('[data-testid=chat-message]')].filter(e => e.textContent.includes(%q)).length === 1`, text)
	}
	// write types a message and sends it as a customer does: a send the
	// widget reports not sent (its socket died under it) leaves the text in
	// the input, and the customer presses Enter again (the widget keeps the
	// client message id, so the server adds it once).
	write := func(text string) {
		t.Helper()
		do("write "+text, chromedp.SendKeys(chromedp.CSS(`[data-testid=chat-input]`), text), chromedp.KeyEvent(kb.Enter))
		for try := 0; ; try++ {
			_, err := chromedp.Run(bctx, chromedp.Poll[bool](shownOnce(text), chromedp.WithPollingTimeout(3*time.Second)))
			if err == nil {
				return
			}
			if try == 10 {
				poll(text+" shown once", shownOnce(text))
			}
			again, _ := chromedp.Run(bctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector('[data-testid=chat-input]').value.trim() === %q`, text)))
			if again {
				status := statusText(bctx)
				if !strings.HasPrefix(status, "Not sent") {
					t.Errorf("the widget kept %q in its input but says %q, not that it was not sent", text, status)
				}
				t.Logf("%q not sent (%s); sent again", text, status)
				do("send again "+text, chromedp.Click(chromedp.CSS(`[data-testid=chat-send]`)))
			}
		}
	}
	noDuplicates := func() {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => { const ix = [...document.querySelectorAll('[data-testid=chat-message]')].map(e => e.dataset.index); return ix.length > 0 && new Set(ix).size === ix.length })()`))
		if err != nil || !v {
			items, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`JSON.stringify([...document.querySelectorAll('[data-testid=chat-message]')].map(e => e.dataset.index + ':' + e.textContent))`))
			t.Fatalf("the widget shows an event twice (or none): %s %v", items, err)
		}
	}

	do("open the shop", chromedp.Navigate(page.URL))
	do("open the widget", chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-open]`)), chromedp.Click(chromedp.CSS(`[data-testid=chat-open]`)))
	do("pre-chat", chromedp.SendKeys(chromedp.CSS(`[data-testid=prechat-name]`), "Wil"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=prechat-subject]`), "cluster"),
		chromedp.Click(chromedp.CSS(`[data-testid=prechat-start]`)))
	do("chat view", chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-input]`)))
	write("before the drain")
	phase("chatting over CometD")
	chatID, err := chromedp.Run(bctx, chromedp.Evaluate[string](`JSON.parse(localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('confab-widget:')))).chatId`))
	if err != nil || chatID == "" {
		t.Fatalf("the widget's chat id: %q %v", chatID, err)
	}

	lb.point(addr(b))
	if out, err := a.p.RunCLI(ctx, "drain", "--url", a.p.URLs.Agent, "--token", a.p.AdminToken, "--wait", "30s"); err != nil {
		t.Fatalf("confab drain: %v\n%s", err, out)
	}
	write("after the drain")
	phase("resumed after the drain")

	lb.point(addr(c))
	b.p.Kill()
	write("after the kill")
	phase("resumed after SIGKILL")
	noDuplicates()

	key, err := chromedp.Run(bctx, chromedp.Evaluate[string](`JSON.stringify(JSON.parse(localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('confab-widget:')))))`))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		ChatID    string `json:"chatId"`
		UserID    string `json:"userId"`
		SecureKey string `json:"secureKey"`
		Alias     string `json:"alias"`
	}
	if err := json.Unmarshal([]byte(key), &st); err != nil {
		t.Fatalf("the widget's stored chat %s: %v", key, err)
	}
	seen, _ := texts(t, ctx, c.cc.Resume(service, st.ChatID, st.UserID, st.SecureKey, st.Alias))
	for _, w := range []string{"before the drain", "after the drain", "after the kill"} {
		if seen[w] != 1 {
			t.Errorf("%q stored %d times, want once (%v)", w, seen[w], seen)
		}
	}
	if n, _ := owner(t, ctx, dsn, chatID); n != nodeIDOf(t, c) {
		t.Errorf("the chat is owned by %s, want c (%s)", n, nodeIDOf(t, c))
	}
}

func statusText(ctx context.Context) string {
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('.cfb-status').textContent`))
	return s
}
