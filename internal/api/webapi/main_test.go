package webapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab/internal/leakcheck"

	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/server"
	"github.com/confab/confab/internal/store/sqlite/sqlitetest"
)

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// harness is one running API with a customer client. Either the whole node
// (server.New + Start, the real store) or the adapter alone on httptest with
// a bare engine, for tests that need non-default adapter options.
type harness struct {
	t      testing.TB
	engine *chat.Engine
	api    *webapi.API // nil for a whole node
	cfg    atomic.Pointer[config.Config]
	base   string // http://host:port/genesys/2/chat
	client *chatv2.Client
	fake   *clock.Fake // nil with the real clock
	srv    *server.Server
}

// startNode runs a whole Confab node on 127.0.0.1 with cfg (defaults when
// nil) and clk (the real clock when nil).
func startNode(t testing.TB, cfg *config.Config, clk clock.Clock) *harness {
	t.Helper()
	if cfg == nil {
		cfg = configWith(t, "")
	}
	var out bytes.Buffer
	srv, err := server.New(context.Background(), server.Options{
		Config: cfg, DataDir: sqlitetest.Dir(t), // an empty store of the current schema: no migrations to run
		Listen: "127.0.0.1:0", Logger: quietLog(), Clock: clk, Out: &out,
	})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	h := &harness{t: t, engine: srv.Engine(), srv: srv, base: "http://" + srv.Addr(config.PortWebAPI) + "/genesys/2/chat"}
	h.fake, _ = clk.(*clock.Fake)
	h.client = chatv2.New(h.base, chatv2.Options{})
	t.Cleanup(func() {
		h.client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return h
}

// startAPI runs the adapter alone on httptest with a bare engine. opts may
// set the adapter's limits; Engine, Config, Clock and Log are filled in.
func startAPI(t testing.TB, cfg *config.Config, clk clock.Clock, opts webapi.Options) *harness {
	t.Helper()
	if cfg == nil {
		cfg = configWith(t, "")
	}
	if clk == nil {
		clk = clock.Real()
	}
	h := &harness{t: t}
	h.cfg.Store(cfg)
	h.fake, _ = clk.(*clock.Fake)
	h.engine = chat.New(chat.Options{Clock: clk, Settings: chat.Settings{ClosedGrace: cfg.Settings.ClosedSessionGrace, SessionLimit: 1 << 30}})
	h.engine.SetTimers(chat.TimerOptions{Config: h.cfg.Load})
	opts.Engine, opts.Config, opts.Clock, opts.Log = h.engine, h.cfg.Load, clk, quietLog()
	h.api = webapi.New(opts)
	mux := http.NewServeMux()
	h.api.Register(mux)
	ts := httptest.NewServer(mux)
	h.base = ts.URL + "/genesys/2/chat"
	h.client = chatv2.New(h.base, chatv2.Options{})
	t.Cleanup(func() {
		h.client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		h.api.Shutdown(ctx)
		ts.Close()
	})
	return h
}

// newChat starts a chat as customer nick and joins an agent through the
// engine.
func (h *harness) newChat(ctx context.Context, nick string) (*chatv2.Chat, *chat.Session, chat.Participant) {
	h.t.Helper()
	c, _, err := h.client.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: nick})
	if err != nil {
		h.t.Fatalf("RequestChat: %v", err)
	}
	s, err := h.engine.Get(c.ID)
	if err != nil {
		h.t.Fatalf("engine.Get(%s): %v", c.ID, err)
	}
	agent, rc, err := s.Join(chat.JoinRequest{Nick: "Anna", Type: chat.Agent, Protocol: chat.Basic})
	if err != nil {
		h.t.Fatalf("agent join: %v", err)
	}
	if err := rc.Wait(ctx); err != nil {
		h.t.Fatalf("agent join not durable: %v", err)
	}
	return c, s, agent
}

// post sends a raw form body to path (relative to base) and returns the
// status and body.
func (h *harness) post(path, contentType, body string) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.base+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return h.do(req)
}

func (h *harness) do(req *http.Request) (int, []byte) {
	h.t.Helper()
	resp, err := h.client.HTTPClient().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, b
}

const formType = "application/x-www-form-urlencoded"

// creds returns the session fields of c as a form fragment.
func creds(c *chatv2.Chat) string {
	return "userId=" + url.QueryEscape(c.UserID) + "&secureKey=" + url.QueryEscape(c.SecureKey) + "&alias=" + url.QueryEscape(c.Alias())
}

// decode parses a JSON answer into a generic value.
func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v\n%s", err, b)
	}
	return m
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// multipartBody encodes fields as multipart/form-data, as the widget's
// FormData does.
func multipartBody(t testing.TB, fields [][2]string) (contentType, body string) {
	return multipartFile(t, fields, "", "", "")
}

// multipartFile is multipartBody with a file part when field is set.
func multipartFile(t testing.TB, fields [][2]string, field, name, content string) (contentType, body string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if field != "" {
		fw, err := w.CreateFormFile(field, name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(fw, content)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), b.String()
}

func TestMain(m *testing.M) { leakcheck.Main(m) }
