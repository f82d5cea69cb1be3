package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/api/admin"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/routing"
)

const token = "admin-secret"

type env struct {
	engine *chat.Engine
	router *routing.Router
	h      *admin.Handler
	url    string
}

func newEnv(t *testing.T) *env {
	var journals chat.Journals
	e := &env{engine: chat.New(chat.Options{Journal: &journals})}
	e.router = routing.New(routing.Options{Engine: e.engine})
	journals = append(journals, e.router)
	e.h = admin.New(admin.Options{Router: e.router, Token: func() string { return token }, Heartbeat: 50 * time.Millisecond})
	mux := http.NewServeMux()
	e.h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		e.h.FlushOnShutdown()(context.Background())
		srv.Close()
	})
	e.url = srv.URL
	return e
}

func (e *env) create(t *testing.T, queue string) *chat.Session {
	s, _, _, err := e.engine.Create(chat.CreateRequest{Tenant: "1", Endpoint: "default", Queue: queue,
		Creator: chat.JoinRequest{Nick: "Kim", Type: chat.Client, Protocol: chat.Flex, Secret: "customer-key"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, url, tok string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	e.create(t, "q")
	for _, path := range []string{"/api/v1/interactions", "/api/v1/events", "/api/v1/other"} {
		for _, tok := range []string{"", "wrong", "customer-key", token + " extra"} {
			resp := get(t, e.url+path, tok, nil)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%s with token %q: %d", path, tok, resp.StatusCode)
			}
		}
	}
	resp := get(t, e.url+"/api/v1/other", token, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown path with the token: %d", resp.StatusCode)
	}
}

func TestInteractions(t *testing.T) {
	e := newEnv(t)
	a := e.create(t, "sales")
	e.create(t, "support")
	resp := get(t, e.url+"/api/v1/interactions?queue=sales", token, nil)
	defer resp.Body.Close()
	var list []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != 200 {
		t.Fatalf("list: %d %v", resp.StatusCode, err)
	}
	if len(list) != 1 {
		t.Fatalf("list = %v", list)
	}
	it := list[0]
	ud, _ := it["userData"].(map[string]any)
	if it["id"] != a.ID() || it["sessionId"] != a.ID() || it["queue"] != "sales" || it["state"] != "queued" || ud["IsOnline"] != "1" {
		t.Fatalf("item = %v", it)
	}
	for _, q := range []string{"?state=lost", "?limit=0", "?limit=x"} {
		r := get(t, e.url+"/api/v1/interactions"+q, token, nil)
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		r.Body.Close()
		if r.StatusCode != 400 || body["field"] == "" || body["code"] != "bad-request" {
			t.Fatalf("%s: %d %v", q, r.StatusCode, body)
		}
	}
	r := get(t, e.url+"/api/v1/interactions?queue=none", token, nil)
	var empty []any
	json.NewDecoder(r.Body).Decode(&empty)
	r.Body.Close()
	if empty == nil || len(empty) != 0 {
		t.Fatalf("empty listing = %v, want []", empty)
	}
}

// sse reads server-sent events from a response.
type sse struct {
	sc     *bufio.Scanner
	events chan [3]string // id, event, data
}

func readSSE(resp *http.Response) *sse {
	s := &sse{sc: bufio.NewScanner(resp.Body), events: make(chan [3]string, 64)}
	go func() {
		defer close(s.events)
		var cur [3]string
		for s.sc.Scan() {
			line := s.sc.Text()
			switch {
			case line == "":
				if cur[1] != "" {
					s.events <- cur
				}
				cur = [3]string{}
			case strings.HasPrefix(line, "id: "):
				cur[0] = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				cur[1] = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				cur[2] = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return s
}

func (s *sse) next(t *testing.T) (string, string, routing.Change) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("stream ended")
		}
		var c routing.Change
		json.Unmarshal([]byte(ev[2]), &c)
		return ev[0], ev[1], c
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return "", "", routing.Change{}
}

func TestEvents(t *testing.T) {
	e := newEnv(t)
	resp := get(t, e.url+"/api/v1/events?queue=sales", token, nil)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	st := readSSE(resp)
	e.create(t, "support")
	a := e.create(t, "sales")
	id, name, c := st.next(t)
	if name != "interaction.created" || c.Interaction.ID != a.ID() || c.Interaction.Queue != "sales" || id == "" {
		t.Fatalf("first event %s %s %+v", id, name, c)
	}
	a.Close(chat.CloseRequest{Reason: chat.RemovedByServer})
	_, name, c = st.next(t)
	if name != "interaction.closed" || c.Interaction.UserData.String("IsOnline") != "0" {
		t.Fatalf("close event %s %+v", name, c)
	}
	// Resuming after the first event replays the close.
	again := get(t, e.url+"/api/v1/events?queue=sales", token, map[string]string{"Last-Event-ID": id})
	defer again.Body.Close()
	_, name, c = readSSE(again).next(t)
	if name != "interaction.closed" || c.Interaction.ID != a.ID() {
		t.Fatalf("resumed event %s %+v", name, c)
	}
	bad := get(t, e.url+"/api/v1/events", token, map[string]string{"Last-Event-ID": "x"})
	bad.Body.Close()
	if bad.StatusCode != 400 {
		t.Fatalf("bad Last-Event-ID: %d", bad.StatusCode)
	}
	// Shutdown ends the streams with a reason.
	e.h.Shutdown()
	_, name, _ = st.next(t)
	if name != "error" {
		t.Fatalf("at shutdown got %q", name)
	}
}

func TestInteractionsPaging(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 5; i++ {
		e.create(t, "paged")
	}
	list := func(query string) []string {
		t.Helper()
		resp := get(t, e.url+"/api/v1/interactions?queue=paged"+query, token, nil)
		defer resp.Body.Close()
		var items []map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&items); err != nil || resp.StatusCode != 200 {
			t.Fatalf("list %s: %d %v", query, resp.StatusCode, err)
		}
		var ids []string
		for _, it := range items {
			ids = append(ids, it["id"].(string))
		}
		return ids
	}
	all := list("")
	if len(all) != 5 {
		t.Fatalf("all = %v, want 5", all)
	}
	if got := list("&limit=2&after=" + all[1]); fmt.Sprint(got) != fmt.Sprint(all[2:4]) {
		t.Fatalf("page after the 2nd = %v, want %v", got, all[2:4])
	}
	if got := list("&limit=2&after=" + all[3]); fmt.Sprint(got) != fmt.Sprint(all[4:]) {
		t.Fatalf("last page = %v, want %v", got, all[4:])
	}
	if got := list("&after=" + all[4]); len(got) != 0 {
		t.Fatalf("page after the last = %v, want none", got)
	}
	r := get(t, e.url+"/api/v1/interactions?after=nope", token, nil)
	var body map[string]string
	json.NewDecoder(r.Body).Decode(&body)
	r.Body.Close()
	if r.StatusCode != 400 || body["field"] != "after" {
		t.Fatalf("after an unknown id: %d %v", r.StatusCode, body)
	}
}
