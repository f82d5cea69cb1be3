package admin_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/confab/confab/internal/api/admin"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

func call(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(bytes.TrimSpace(data)) > 0 && data[0] == '{' {
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, url, data, err)
		}
	}
	return resp.StatusCode, m
}

func TestAgentsAPI(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	var journals chat.Journals
	engine := chat.New(chat.Options{Journal: &journals})
	router := routing.New(routing.Options{Engine: engine})
	journals = append(journals, router)
	n := 0
	h := admin.New(admin.Options{Router: router, Token: func() string { return token }, Agents: st,
		NewToken: func() (string, []byte) {
			n++
			tok := "tok-" + string(rune('a'+n))
			sum := sha256.Sum256([]byte(tok))
			return tok, sum[:]
		}})
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base := srv.URL + "/api/v1/agents"

	code, m := call(t, "POST", base, `{"id":"amy","name":"Amy","type":"agent","queues":["sales","support"],"capacity":3}`)
	if code != 201 || m["token"] == "" || m["type"] != "AGENT" || m["capacity"] != 3.0 {
		t.Fatalf("POST: %d %v", code, m)
	}
	a, err := st.GetAgent(ctx, "amy")
	if err != nil || a.Capacity != 3 || len(a.Queues) != 2 {
		t.Fatalf("stored %+v %v", a, err)
	}
	for _, tc := range []struct {
		method, url, body string
		code              int
		field             string
	}{
		{"POST", base, `{"id":"amy"}`, 409, "id"},
		{"POST", base, `{"name":"x"}`, 400, "id"},
		{"POST", base, `{"id":"x","type":"CLIENT"}`, 400, "type"},
		{"POST", base, `{"id":"x","capacity":0}`, 400, "capacity"},
		{"POST", base, `{"id":"x","capacity":"3"}`, 400, "capacity"},
		{"POST", base, `{"id":"x","queues":["a,b"]}`, 400, "queues"},
		{"POST", base, `{"id":"x","colour":"red"}`, 400, "colour"},
		{"POST", base, `[1]`, 400, ""},
		{"PATCH", base + "/nobody", `{"capacity":2}`, 404, "id"},
		{"PATCH", base + "/amy", `{"id":"bob"}`, 400, "id"},
		{"DELETE", base + "/nobody", ``, 404, "id"},
	} {
		code, m := call(t, tc.method, tc.url, tc.body)
		if code != tc.code || (tc.field != "" && m["field"] != tc.field) {
			t.Errorf("%s %s %s: %d %v, want %d field %q", tc.method, tc.url, tc.body, code, m, tc.code, tc.field)
		}
	}
	code, m = call(t, "PATCH", base+"/amy", `{"type":"SUPERVISOR","capacity":5,"rotateToken":true}`)
	if code != 200 || m["type"] != "SUPERVISOR" || m["capacity"] != 5.0 || m["token"] == nil {
		t.Fatalf("PATCH: %d %v", code, m)
	}
	a2, _ := st.GetAgent(ctx, "amy")
	if bytes.Equal(a2.TokenHash, a.TokenHash) || len(a2.Queues) != 2 {
		t.Fatalf("after PATCH: %+v", a2)
	}
	// A logged-in agent shows its live status.
	d, err := router.Login(routing.AccountOf(a2), func(routing.Notice) {})
	if err != nil {
		t.Fatal(err)
	}
	d.SetState(routing.StateReady, "")
	code, m = call(t, "GET", base+"/amy", "")
	if status, _ := m["status"].(map[string]any); code != 200 || status["state"] != "ready" {
		t.Fatalf("GET: %d %v", code, m)
	}
	d.Logout()
	code, m = call(t, "GET", srv.URL+"/api/v1/routing", "")
	if c, _ := m["counters"].(map[string]any); code != 200 || c["stateChanges"] == nil {
		t.Fatalf("routing status: %d %v", code, m)
	}
	if code, _ := call(t, "DELETE", base+"/amy", ""); code != 204 {
		t.Fatalf("DELETE: %d", code)
	}
	if _, err := st.GetAgent(ctx, "amy"); err != store.ErrNotFound && !strings.Contains(err.Error(), "not found") {
		t.Fatalf("after DELETE: %v", err)
	}
}
