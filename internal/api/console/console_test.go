package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/confab/confab/internal/api/console"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/kpi"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

func hash(tok string) []byte { s := sha256.Sum256([]byte(tok)); return s[:] }

// TestPicture: each caller sees what its token allows, and a supervisor
// only its own queues, with the oldest wait computed on the injected clock.
func TestPicture(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	for _, a := range []store.Agent{
		{ID: "amy", Name: "Amy", Type: store.UserAgent, TokenHash: hash("tok-amy"), Queues: []string{"sales"}},
		{ID: "sam", Name: "Sam", Type: store.UserSupervisor, TokenHash: hash("tok-sam"), Queues: []string{"sales", "empty"}},
		{ID: "nia", Name: "Nia", Type: store.UserSupervisor, TokenHash: hash("tok-nia")},
	} {
		if err := st.AddAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	clk := clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	var journals chat.Journals
	engine := chat.New(chat.Options{Journal: &journals, Clock: clk})
	router := routing.New(routing.Options{Engine: engine, Clock: clk})
	journals = append(journals, router)
	for _, q := range []string{"sales", "support", "sales"} {
		if _, _, _, err := engine.Create(chat.CreateRequest{Tenant: "1", Endpoint: "default", Queue: q,
			Creator: chat.JoinRequest{Nick: "Kim", Type: chat.Client, Protocol: chat.Flex, Secret: "k"}}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(10 * time.Second)
	}
	counters := kpi.New()
	counters.FlexUsers.Set(3)
	h := console.New(console.Options{Router: router, Agents: st, HashToken: hash, AdminToken: func() string { return "adm" },
		Counters: counters, Now: clk.Now})
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tc := range []struct {
		name, token string
		code        int
		queues      []string // names, in order
		waiting     []int
		oldest      []int64
		chats       int
	}{
		{"no token", "", 401, nil, nil, nil, 0},
		{"unknown token", "nope", 401, nil, nil, nil, 0},
		{"agent", "tok-amy", 403, nil, nil, nil, 0},
		{"supervisor", "tok-sam", 200, []string{"empty", "sales"}, []int{0, 2}, []int64{0, 30}, 2},
		{"supervisor of no queue", "tok-nia", 200, nil, nil, nil, 0},
		{"admin", "adm", 200, []string{"sales", "support"}, []int{2, 1}, []int64{30, 20}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+console.Path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.code)
			}
			if tc.code != 200 {
				var e map[string]string
				if json.NewDecoder(resp.Body).Decode(&e); e["code"] == "" || e["message"] == "" {
					t.Fatalf("refusal %v", e)
				}
				return
			}
			var pic console.Picture
			if err := json.NewDecoder(resp.Body).Decode(&pic); err != nil {
				t.Fatal(err)
			}
			if len(pic.Queues) != len(tc.queues) || len(pic.Interactions) != tc.chats {
				t.Fatalf("queues %+v, %d chats; want %v, %d", pic.Queues, len(pic.Interactions), tc.queues, tc.chats)
			}
			for i, q := range pic.Queues {
				if q.Name != tc.queues[i] || q.Waiting != tc.waiting[i] || q.OldestWaitSeconds != tc.oldest[i] || (q.Waiting > 0) != (q.OldestSince != nil) {
					t.Errorf("queue %d = %+v, want %s waiting %d oldest %d s", i, q, tc.queues[i], tc.waiting[i], tc.oldest[i])
				}
			}
			for _, ix := range pic.Interactions {
				if ix.UserData.String("ChatServerSessionId") != ix.SessionID {
					t.Errorf("chat %s carries user data %v", ix.ID, ix.UserData)
				}
			}
			found := false
			for _, f := range pic.KPI {
				if f.Name == "flex_users_current" {
					found = f.Value == 3 && f.Description != ""
				}
			}
			if !found {
				t.Errorf("kpi flex_users_current missing or wrong in %+v", pic.KPI)
			}
		})
	}
}
