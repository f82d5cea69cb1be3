package chatv2_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/leakcheck"

	"github.com/coder/websocket"

	"github.com/confab/confab/client/chatv2"
)

// fake is a scripted Chat API server that records what it receives.
type fake struct {
	mu    sync.Mutex
	forms []url.Values
	paths []string
	heads []http.Header
	// answer returns the status and body for a request.
	answer func(path string, form url.Values) (int, string)
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	f.paths = append(f.paths, r.URL.Path)
	f.heads = append(f.heads, r.Header.Clone())
	f.mu.Unlock()
	status, body := f.answer(r.URL.Path, r.PostForm)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (f *fake) last() (string, url.Values, http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.forms) - 1
	return f.paths[n], f.forms[n], f.heads[n]
}

const started = `{"statusCode":0,"alias":"7","userId":"U1","secureKey":"K1","chatId":"C1","chatEnded":false,"nextPosition":2,
  "messages":[{"from":{"nickname":"Ann","participantId":1,"type":"Client"},"index":1,"type":"ParticipantJoined","utcTime":1}]}`

func newFake(t *testing.T, answer func(string, url.Values) (int, string)) (*fake, *chatv2.Client) {
	f := &fake{answer: answer}
	ts := httptest.NewServer(f)
	c := chatv2.New(ts.URL+"/genesys/2/chat/", chatv2.Options{APIKey: "key", Authorization: "Bearer x"})
	t.Cleanup(func() {
		c.CloseIdleConnections()
		ts.Close()
	})
	return f, c
}

func TestRequests(t *testing.T) {
	alias := "7"
	f, c := newFake(t, func(path string, form url.Values) (int, string) {
		if strings.HasSuffix(path, "/refresh") {
			return 200, `{"statusCode":0,"alias":"` + alias + `","chatEnded":false,"nextPosition":2,"messages":[]}`
		}
		return 200, started
	})
	ctx := context.Background()
	ch, resp, err := c.RequestChat(ctx, "customer support", chatv2.ChatRequest{
		FirstName: "Ann", LastName: "Lee", Subject: "s", UserData: map[string]string{"GCTI_LanguageCode": "en", "a b": "c&d"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ch.ID != "C1" || ch.UserID != "U1" || ch.SecureKey != "K1" || ch.Alias() != "7" || resp.Messages[0].From.Nickname != "Ann" {
		t.Fatalf("chat %+v, answer %+v", ch, resp)
	}
	path, form, head := f.last()
	if path != "/genesys/2/chat/customer support" || form.Get("firstName") != "Ann" || form.Get("userData[a b]") != "c&d" ||
		form.Get("userData[GCTI_LanguageCode]") != "en" || form.Has("nickname") {
		t.Fatalf("request chat sent %s %v", path, form)
	}
	if head.Get("apikey") != "key" || head.Get("Authorization") != "Bearer x" || head.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("headers %v", head)
	}
	for _, tc := range []struct {
		name string
		call func() (*chatv2.Response, error)
		op   string
		want map[string]string
	}{
		{"send", func() (*chatv2.Response, error) {
			return ch.Send(ctx, "hi", &chatv2.SendOptions{MessageType: "text", ClientMessageID: "m1", TranscriptPosition: 3,
				EventAttributes: map[string]any{"k": "v"}})
		}, "send", map[string]string{"message": "hi", "messageType": "text", "clientMessageId": "m1", "transcriptPosition": "3", "eventAttributes": `{"k":"v"}`}},
		{"refresh", func() (*chatv2.Response, error) { return ch.Refresh(ctx, 5) }, "refresh", map[string]string{"transcriptPosition": "5"}},
		{"long poll", func() (*chatv2.Response, error) { return ch.LongPoll(ctx, 5, 20*time.Second) }, "refresh", map[string]string{"transcriptPosition": "5", "waitSeconds": "20"}},
		{"start typing", func() (*chatv2.Response, error) { return ch.StartTyping(ctx, "h") }, "startTyping", map[string]string{"message": "h"}},
		{"stop typing", func() (*chatv2.Response, error) { return ch.StopTyping(ctx) }, "stopTyping", nil},
		{"custom notice", func() (*chatv2.Response, error) { return ch.CustomNotice(ctx, "n", nil) }, "customNotice", map[string]string{"message": "n"}},
		{"push URL", func() (*chatv2.Response, error) { return ch.PushURL(ctx, "https://x.example/") }, "pushUrl", map[string]string{"pushUrl": "https://x.example/"}},
		{"update data", func() (*chatv2.Response, error) { return ch.UpdateData(ctx, map[string]string{"k": "v"}) }, "updateData", map[string]string{"userData[k]": "v"}},
		{"nickname", func() (*chatv2.Response, error) { return ch.UpdateNickname(ctx, "Bo") }, "updateNickname", map[string]string{"nickname": "Bo"}},
		{"read receipt", func() (*chatv2.Response, error) { return ch.ReadReceipt(ctx, 4) }, "readReceipt", map[string]string{"transcriptPosition": "4"}},
		{"file limits", func() (*chatv2.Response, error) { return ch.FileLimits(ctx) }, "file/limits", nil},
		{"disconnect", func() (*chatv2.Response, error) { return ch.Disconnect(ctx) }, "disconnect", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.call(); err != nil {
				t.Fatal(err)
			}
			path, form, _ := f.last()
			if path != "/genesys/2/chat/customer support/C1/"+tc.op {
				t.Fatalf("path %q", path)
			}
			if form.Get("userId") != "U1" || form.Get("secureKey") != "K1" || form.Get("alias") != ch.Alias() {
				t.Fatalf("session fields %v", form)
			}
			for k, v := range tc.want {
				if form.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, form.Get(k), v)
				}
			}
		})
	}
	// The alias follows the server's answers, as the widget's does.
	alias = "9"
	if _, err := ch.Refresh(ctx, 1); err != nil || ch.Alias() != "9" {
		t.Fatalf("alias %q after an answer carrying 9 (%v)", ch.Alias(), err)
	}
	if _, err := ch.Refresh(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, form, _ := f.last(); form.Get("alias") != "9" {
		t.Fatalf("alias sent %q", form.Get("alias"))
	}
}

func TestErrors(t *testing.T) {
	_, c := newFake(t, func(path string, form url.Values) (int, string) {
		switch form.Get("message") {
		case "long":
			return 400, `{"errors":[{"code":204,"advice":"too long"}]}`
		case "ended":
			return 200, `{"statusCode":2,"chatEnded":true,"messages":[],"errors":[{"code":401,"advice":"no"}]}`
		case "busy":
			return 200, `{"statusCode":1,"chatEnded":false,"messages":[]}`
		case "junk":
			return 200, `not json`
		}
		return 200, started
	})
	ctx := context.Background()
	ch := c.Resume("svc", "C1", "U1", "K1", "1")
	for _, tc := range []struct {
		msg        string
		http, code int
		problem    int
		ended      bool
		temporary  bool
		resp       bool
	}{
		{"long", 400, 0, 204, false, false, false},
		{"ended", 200, 2, 401, true, false, true},
		{"busy", 200, 1, 0, false, true, true},
	} {
		resp, err := ch.Send(ctx, tc.msg, nil)
		var ae *chatv2.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("%s: %v", tc.msg, err)
		}
		if ae.HTTPStatus != tc.http || ae.StatusCode != tc.code || ae.ChatEnded != tc.ended || ae.Temporary() != tc.temporary ||
			(tc.problem != 0 && !ae.Has(tc.problem)) || (resp != nil) != tc.resp {
			t.Errorf("%s: %+v, response %v", tc.msg, ae, resp)
		}
	}
	if _, err := ch.Send(ctx, "junk", nil); err == nil || !strings.Contains(err.Error(), "decode") {
		t.Errorf("undecodable answer: %v", err)
	}
}

// scriptedPush starts a push server whose frames and close depend on the
// transcript position asked for.
func scriptedPush(t *testing.T) (*chatv2.Client, *chatv2.Chat) {
	t.Helper()
	frames := map[string][]string{
		"1": {`{"statusCode":0,"chatEnded":false,"nextPosition":3,"messages":[{"from":{"nickname":"A","participantId":1,"type":"Client"},"index":2,"type":"Message","text":"x","utcTime":1}]}`,
			`{"statusCode":0,"chatEnded":true,"nextPosition":4,"messages":[]}`},
		"5": {`{"statusCode":1,"chatEnded":false,"nextPosition":5,"messages":[],"resyncFrom":5}`},
		"7": {`{"statusCode":2,"chatEnded":true,"messages":[],"errors":[{"code":401,"advice":"no"}]}`},
		"9": {},
	}
	closes := map[string]websocket.StatusCode{"1": 1000, "5": 4008, "7": 4401, "9": 1001}
	var wg sync.WaitGroup
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		q := r.URL.Query()
		if r.URL.Path != "/genesys/2/chat/svc/C1/ws" || q.Get("userId") != "U1" || q.Get("secureKey") != "K1" || q.Get("alias") != "1" {
			http.Error(w, "bad", 400)
			return
		}
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		pos := q.Get("transcriptPosition")
		for _, f := range frames[pos] {
			conn.Write(r.Context(), websocket.MessageText, []byte(f))
		}
		conn.Close(closes[pos], "scripted")
	}))
	c := chatv2.New(ts.URL+"/genesys/2/chat", chatv2.Options{})
	t.Cleanup(func() {
		c.CloseIdleConnections()
		ts.Close()
		wg.Wait()
	})
	return c, c.Resume("svc", "C1", "U1", "K1", "1")
}

// TestSubscription scripts a push server: frames, a resync, a close.
func TestSubscription(t *testing.T) {
	ctx := context.Background()
	c, ch := scriptedPush(t)

	sub, err := ch.Subscribe(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := sub.Next(ctx)
	if err != nil || r1.Messages[0].Text != "x" || sub.Position() != 3 {
		t.Fatalf("first frame %+v %v, position %d", r1, err, sub.Position())
	}
	r2, err := sub.Next(ctx)
	if err != nil || !r2.ChatEnded || sub.Position() != 4 {
		t.Fatalf("last frame %+v %v", r2, err)
	}
	if _, err := sub.Next(ctx); err != io.EOF {
		t.Fatalf("after the end: %v", err)
	}
	sub.Close()

	sub, _ = ch.Subscribe(ctx, 5)
	var re *chatv2.ResyncError
	if _, err := sub.Next(ctx); !errors.As(err, &re) || re.From != 5 {
		t.Fatalf("resync: %v", err)
	}
	var ce *chatv2.ClosedError
	if _, err := sub.Next(ctx); !errors.As(err, &ce) || ce.Code != 4008 || ce.Resume != 5 {
		t.Fatalf("after resync: %v", err)
	}
	sub.Close()

	sub, _ = ch.Subscribe(ctx, 7)
	var ae *chatv2.APIError
	if resp, err := sub.Next(ctx); !errors.As(err, &ae) || !ae.Has(401) || !resp.ChatEnded {
		t.Fatalf("unauthorised: %v", err)
	}
	sub.Close()

	sub, _ = ch.Subscribe(ctx, 9)
	if _, err := sub.Next(ctx); !errors.As(err, &ce) || ce.Code != 1001 || ce.Resume != 9 {
		t.Fatalf("going away: %v", err)
	}
	sub.Close()

	if _, err := c.Resume("svc", "C1", "U1", "wrong", "1").Subscribe(ctx, 1); err == nil {
		t.Fatal("a refused handshake did not fail Subscribe")
	}
}

// TestSubscriptionEach reads the same scripted frames with Each: fn sees
// the frames, and Each ends as Next would.
func TestSubscriptionEach(t *testing.T) {
	ctx := context.Background()
	_, ch := scriptedPush(t)
	var got []*chatv2.Response
	collect := func(r *chatv2.Response) bool { c := *r; got = append(got, &c); return true }

	sub, err := ch.Subscribe(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Each(ctx, collect); err != io.EOF {
		t.Fatalf("Each after the last frame: %v, want io.EOF", err)
	}
	if len(got) != 2 || got[0].Messages[0].Text != "x" || !got[1].ChatEnded || sub.Position() != 4 {
		t.Fatalf("frames %+v, position %d", got, sub.Position())
	}
	if _, err := sub.Each(ctx, collect); err != io.EOF {
		t.Fatalf("Each after the end: %v", err)
	}
	sub.Close()

	got = nil
	sub, _ = ch.Subscribe(ctx, 5)
	var re *chatv2.ResyncError
	if _, err := sub.Each(ctx, collect); !errors.As(err, &re) || re.From != 5 || len(got) != 0 {
		t.Fatalf("resync: %v (%d frames)", err, len(got))
	}
	var ce *chatv2.ClosedError
	if _, err := sub.Each(ctx, collect); !errors.As(err, &ce) || ce.Code != 4008 || ce.Resume != 5 {
		t.Fatalf("after resync: %v", err)
	}
	sub.Close()

	sub, _ = ch.Subscribe(ctx, 7)
	var ae *chatv2.APIError
	if resp, err := sub.Each(ctx, collect); !errors.As(err, &ae) || !ae.Has(401) || resp == nil || !resp.ChatEnded || len(got) != 0 {
		t.Fatalf("unauthorised: %v", err)
	}
	sub.Close()

	// fn stops the loop: Each returns nil, and the next frame is still there.
	sub, _ = ch.Subscribe(ctx, 1)
	n := 0
	if r, err := sub.Each(ctx, func(*chatv2.Response) bool { n++; return false }); err != nil || r != nil || n != 1 {
		t.Fatalf("stopped by fn: %v, %v, %d calls", r, err, n)
	}
	if r, err := sub.Next(ctx); err != nil || !r.ChatEnded {
		t.Fatalf("the frame after a stop: %+v %v", r, err)
	}
	sub.Close()

	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	sub, _ = ch.Subscribe(ctx, 9)
	if _, err := sub.Each(ctx2, collect); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	sub.Close()
}

// TestConcurrentUse runs many chats through one Client at once (run with
// -race).
func TestConcurrentUse(t *testing.T) {
	_, c := newFake(t, func(string, url.Values) (int, string) { return 200, started })
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch, _, err := c.RequestChat(ctx, "svc", chatv2.ChatRequest{Nickname: "n"})
			if err != nil {
				t.Error(err)
				return
			}
			for k := 0; k < 10; k++ {
				if _, err := ch.Send(ctx, "m", nil); err != nil {
					t.Error(err)
				}
				_ = ch.Alias()
			}
		}()
	}
	wg.Wait()
}

func TestMain(m *testing.M) { leakcheck.Main(m) }
