package cometd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/confab/confab/internal/api/cometd"
	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/cors"
	"github.com/confab/confab/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// harness is an engine, the customer API and the Bayeux server on
// httptest, on a fake clock.
type harness struct {
	t      *testing.T
	fake   *clock.Fake
	engine *chat.Engine
	api    *webapi.API
	srv    *cometd.Server
	url    string // http://127.0.0.1:port
	cfg    atomic.Pointer[config.Config]
}

type setup struct {
	opts    cometd.Options
	webapi  webapi.Options
	origins string
	real    bool // the real clock (browser tests); h.fake is then nil
}

func start(t *testing.T, st setup) *harness {
	t.Helper()
	h := &harness{t: t}
	var clk clock.Clock = clock.Real()
	if !st.real {
		h.fake = clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
		clk = h.fake
	}
	cfg := config.Default()
	h.cfg.Store(cfg)
	h.engine = chat.New(chat.Options{Clock: clk, Settings: chat.Settings{ClosedGrace: cfg.Settings.ClosedSessionGrace, SessionLimit: 1 << 20}})
	var pol *cors.Policy
	if st.origins != "" {
		entries, err := cors.Split(st.origins)
		if err != nil {
			t.Fatal(err)
		}
		pol = cors.New(entries)
	}
	wo := st.webapi
	wo.Engine, wo.Config, wo.Clock, wo.Log, wo.CORS = h.engine, h.cfg.Load, clk, slog.New(slog.DiscardHandler), pol
	h.api = webapi.New(wo)
	o := st.opts
	o.API, o.Clock, o.CORS = h.api, clk, pol
	h.srv = cometd.New(o)
	mux := http.NewServeMux()
	h.api.Register(mux)
	h.srv.Register(mux)
	var handler http.Handler = mux
	if os.Getenv("COMETD_TRACE") != "" {
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Logf("%s %s origin=%q cookie=%q", r.Method, r.URL, r.Header.Get("Origin"), r.Header.Get("Cookie"))
			mux.ServeHTTP(w, r)
			t.Logf("  -> %v", w.Header())
		})
	}
	ts := httptest.NewServer(handler)
	h.url = ts.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.srv.Shutdown(ctx)
		h.api.Shutdown(ctx)
		ts.CloseClientConnections()
		ts.Close()
	})
	return h
}

// msg is a Bayeux message as the tests see it.
type msg = map[string]any

// bc is a test Bayeux client over long-polling (post), callback-polling
// (jsonp) or websocket (ws, once dialled). It keeps its cookies.
type bc struct {
	h    *harness
	hc   *http.Client
	id   string
	n    int
	ws   *websocket.Conn
	jsnp bool
}

func (h *harness) client() *bc {
	jar, _ := cookiejar.New(nil)
	return &bc{h: h, hc: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

func (b *bc) nextID() string { b.n++; return fmt.Sprint(b.n) }

// send sends a batch on the client's transport and returns the HTTP status
// (200 for websocket) and the messages of the answer. For websocket it
// returns the next frame.
func (b *bc) send(suffix string, msgs ...msg) (int, []msg) {
	b.h.t.Helper()
	body, _ := json.Marshal(msgs)
	if b.ws != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.ws.Write(ctx, websocket.MessageText, body); err != nil {
			b.h.t.Fatalf("ws write: %v", err)
		}
		return 200, b.frame()
	}
	var req *http.Request
	if b.jsnp {
		req, _ = http.NewRequest(http.MethodGet, b.h.url+"/genesys/cometd"+suffix+"?jsonp=cb_1&message="+url.QueryEscape(string(body)), nil)
	} else {
		req, _ = http.NewRequest(http.MethodPost, b.h.url+"/genesys/cometd"+suffix, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.h.t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if b.jsnp && resp.StatusCode == 200 {
		s := string(raw)
		if !strings.HasPrefix(s, "cb_1(") || !strings.HasSuffix(s, ");") {
			b.h.t.Fatalf("jsonp answer not a cb_1(...) call: %s", s)
		}
		raw = []byte(s[len("cb_1(") : len(s)-2])
	}
	var out []msg
	if err := json.Unmarshal(raw, &out); err != nil {
		b.h.t.Fatalf("answer (HTTP %d) is not a JSON array: %v\n%s", resp.StatusCode, err, raw)
	}
	return resp.StatusCode, out
}

// frame reads one websocket frame.
func (b *bc) frame() []msg {
	b.h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, raw, err := b.ws.Read(ctx)
	if err != nil {
		b.h.t.Fatalf("ws read: %v", err)
	}
	var out []msg
	if err := json.Unmarshal(raw, &out); err != nil {
		b.h.t.Fatalf("frame not a JSON array: %v\n%s", err, raw)
	}
	return out
}

// dial switches the client to the websocket transport.
func (b *bc) dial() {
	b.h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(b.h.url, "http")+"/genesys/cometd", &websocket.DialOptions{HTTPClient: b.hc})
	if err != nil {
		b.h.t.Fatalf("dial: %v", err)
	}
	b.ws = c
	b.h.t.Cleanup(func() { c.CloseNow() })
}

func (b *bc) undial() {
	b.ws.Close(websocket.StatusNormalClosure, "")
	b.ws = nil
}

func (b *bc) transport() string {
	switch {
	case b.ws != nil:
		return "websocket"
	case b.jsnp:
		return "callback-polling"
	}
	return "long-polling"
}

func (b *bc) handshake() msg {
	b.h.t.Helper()
	_, out := b.send("/handshake", msg{"channel": "/meta/handshake", "version": "1.0", "id": b.nextID(),
		"supportedConnectionTypes": []string{"websocket", "long-polling", "callback-polling"}})
	r := find(b.h.t, out, "/meta/handshake")
	if r["successful"] != true {
		b.h.t.Fatalf("handshake failed: %v", r)
	}
	b.id = r["clientId"].(string)
	return r
}

func (b *bc) connectMsg() msg {
	return msg{"channel": "/meta/connect", "clientId": b.id, "connectionType": b.transport(), "id": b.nextID()}
}

// connect sends a connect and returns everything the answer holds.
func (b *bc) connect() []msg {
	b.h.t.Helper()
	_, out := b.send("/connect", b.connectMsg())
	return out
}

// connectAsync sends a connect whose answer arrives on the channel.
func (b *bc) connectAsync() <-chan []msg {
	ch := make(chan []msg, 1)
	if b.ws != nil {
		body, _ := json.Marshal([]msg{b.connectMsg()})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.ws.Write(ctx, websocket.MessageText, body); err != nil {
			b.h.t.Fatalf("ws write: %v", err)
		}
		go func() { ch <- b.frameNoFatal() }()
		return ch
	}
	m := b.connectMsg()
	go func() {
		body, _ := json.Marshal([]msg{m})
		resp, err := b.hc.Post(b.h.url+"/genesys/cometd/connect", "application/json", bytes.NewReader(body))
		if err != nil {
			ch <- nil
			return
		}
		defer resp.Body.Close()
		var out []msg
		json.NewDecoder(resp.Body).Decode(&out)
		ch <- out
	}()
	return ch
}

func (b *bc) frameNoFatal() []msg {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, raw, err := b.ws.Read(ctx)
	if err != nil {
		return nil
	}
	var out []msg
	json.Unmarshal(raw, &out)
	return out
}

func (b *bc) subscribe(ch string) msg {
	b.h.t.Helper()
	_, out := b.send("/subscribe", msg{"channel": "/meta/subscribe", "clientId": b.id, "subscription": ch, "id": b.nextID()})
	return find(b.h.t, out, "/meta/subscribe")
}

// publish sends a Chat API v2 operation and returns the publish reply.
func (b *bc) publish(data msg) msg {
	b.h.t.Helper()
	id := b.nextID()
	_, out := b.send("/", msg{"channel": chatCh, "clientId": b.id, "data": data, "id": id}) // the stock client's URL for publishes
	for _, m := range out {
		if m["id"] == id {
			return m
		}
	}
	b.h.t.Fatalf("no reply to publish %s in %v", id, out)
	return nil
}

const chatCh = "/service/chatV2/customer-support"

// find returns the first message on channel.
func find(t *testing.T, out []msg, channel string) msg {
	t.Helper()
	for _, m := range out {
		if m["channel"] == channel {
			return m
		}
	}
	t.Fatalf("no message on %s in %v", channel, out)
	return nil
}

// deliveries returns the data of the messages on channel that are not
// publish replies (they have data).
func deliveries(out []msg, channel string) []map[string]any {
	var ds []map[string]any
	for _, m := range out {
		if d, ok := m["data"].(map[string]any); ok && m["channel"] == channel {
			ds = append(ds, d)
		}
	}
	return ds
}

// await waits for a connect's answer, failing after 10 s.
func await(t *testing.T, ch <-chan []msg) []msg {
	t.Helper()
	select {
	case out := <-ch:
		if out == nil {
			t.Fatal("connect failed")
		}
		return out
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to the held connect")
		return nil
	}
}

// waitHeld waits until n connects are held by the server, so that a fake
// clock advance reaches their timers.
func (h *harness) waitHeld(n int) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for cometd.Held(h.srv) < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("%d connects held, want %d", cometd.Held(h.srv), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// indexes returns the message indexes of delivered bodies.
func indexes(ds []map[string]any) []int {
	var out []int
	for _, d := range ds {
		ms, _ := d["messages"].([]any)
		for _, m := range ms {
			out = append(out, int(m.(map[string]any)["index"].(float64)))
		}
	}
	return out
}
