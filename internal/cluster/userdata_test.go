package cluster_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/cluster"
)

// TestMiddlewareFindsInteractionInUserData runs two nodes on one
// PostgreSQL store; node a (live, its ESP listener a test server) owns a
// session. ESP requests reaching b that name the session only inside their
// UserData parameter — a JSON object, or a string in the list-like or JSON
// form, as the ESP adapter accepts — are forwarded to a with their body
// intact; one naming no session is served by b.
func TestMiddlewareFindsInteractionInUserData(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	var mu sync.Mutex
	var forwarded []string
	owner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		forwarded = append(forwarded, string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer owner.Close()
	clk := clock.NewFake(t0)
	a := cluster.New(cluster.Options{Store: st, Clock: clk, NodeID: "a", Lease: time.Hour})
	b := cluster.New(cluster.Options{Store: st, Clock: clk, NodeID: "b", Lease: time.Hour})
	if err := a.Start(ctx, map[string]string{"esp": owner.URL}); err != nil {
		t.Fatal(err)
	}
	defer a.Stop(ctx)
	if err := b.Start(ctx, map[string]string{"esp": "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(ctx)
	if err := a.SessionCreated(&chat.Info{ID: "ud1"}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	served := 0
	h := b.Middleware(func(string) bool { return false }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served++
		w.WriteHeader(http.StatusNotFound)
	}))
	for _, tc := range []struct {
		name, body string
		forward    bool
	}{
		{"object", `{"MessageText":"hi","UserData":{"InteractionId":"ud1","x":"y"}}`, true},
		{"list-like string", `{"MessageText":"hi","UserData":"x:y|InteractionId:ud1"}`, true},
		{"JSON string", `{"MessageText":"hi","UserData":"{\"InteractionId\":\"ud1\"}"}`, true},
		{"the parameter wins", `{"InteractionId":"ud1","UserData":{"InteractionId":"other"}}`, true},
		{"no interaction", `{"MessageText":"hi","UserData":{"x":"y"}}`, false},
		{"bad user data", `{"MessageText":"hi","UserData":"no colon"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			before, servedBefore := len(forwarded), served
			mu.Unlock()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/esp/Chat/Message", strings.NewReader(tc.body)))
			mu.Lock()
			defer mu.Unlock()
			if tc.forward {
				if len(forwarded) != before+1 || forwarded[len(forwarded)-1] != tc.body || served != servedBefore {
					t.Fatalf("not forwarded intact to the owner (status %d, forwarded %d→%d, served here %d→%d)",
						rec.Code, before, len(forwarded), servedBefore, served)
				}
				return
			}
			if len(forwarded) != before || served != servedBefore+1 {
				t.Fatalf("forwarded %d→%d, served here %d→%d; want served here", before, len(forwarded), servedBefore, served)
			}
		})
	}
}
