package responses_test

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

	"github.com/confab/confab/internal/api/responses"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

func hash(tok string) []byte { s := sha256.Sum256([]byte(tok)); return s[:] }

// server runs the API over a real SQLite store with an agent "amy", a
// supervisor "sam" and the admin token "adm".
func server(t *testing.T) (string, store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(ctx) })
	for _, a := range []store.Agent{
		{ID: "amy", Name: "Amy", Type: store.UserAgent, TokenHash: hash("tok-amy")},
		{ID: "sam", Name: "Sam", Type: store.UserSupervisor, TokenHash: hash("tok-sam")},
	} {
		if err := st.AddAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	h := responses.New(responses.Options{Store: st, HashToken: hash, AdminToken: func() string { return "adm" },
		MaxText: func() int { return 100 }, MaxAttributes: func() int { return 400 }})
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/agent/v1/responses", st
}

func call(t *testing.T, method, url, token, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNoContent && resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s %s: %d with Content-Type %q", method, url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, data
}

func obj(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("body %q: %v", data, err)
	}
	return m
}

const quick = `{"structured-content":{"genesys-chat":{"content":"{\"type\":\"Message\",\"contentType\":\"quick-replies\",\"content\":[{\"id\":1,\"type\":\"quick-reply\",\"action\":\"message\",\"text\":\"Black\"}]}","type":"Generic"}}}`

func TestLifecycle(t *testing.T) {
	base, st := server(t)
	code, data := call(t, "POST", base, "tok-sam", `{"id":"hello","name":"Welcome","category":"greetings","shortcut":"hi","text":"Hello, how can I help?"}`)
	if code != 201 {
		t.Fatalf("POST = %d %s", code, data)
	}
	if m := obj(t, data); m["id"] != "hello" || m["shortcut"] != "hi" || m["createdAt"] == "" {
		t.Fatalf("created %v", m)
	}
	// Without an id the server names it; the structured part is stored as given.
	code, data = call(t, "POST", base, "adm", `{"name":"Colours","text":"Black or Mint?","attributes":`+quick+`}`)
	if code != 201 {
		t.Fatalf("POST rich = %d %s", code, data)
	}
	rich := obj(t, data)
	id, _ := rich["id"].(string)
	if !strings.HasPrefix(id, "sr-") {
		t.Fatalf("generated id %q", id)
	}
	got, err := st.GetStandardResponse(context.Background(), id)
	if err != nil || !bytes.Equal(got.Attributes, []byte(quick)) {
		t.Fatalf("stored %+v, %v", got, err)
	}

	// Every agent reads and searches.
	code, data = call(t, "GET", base, "tok-amy", "")
	var list []map[string]any
	json.Unmarshal(data, &list)
	if code != 200 || len(list) != 2 || list[0]["name"] != "Colours" { // category "" sorts first
		t.Fatalf("GET = %d %s", code, data)
	}
	for q, want := range map[string]string{"/hi": "hello", "mint": id, "HELLO help": "hello", "welc": "hello"} {
		code, data = call(t, "GET", base+"?q="+strings.ReplaceAll(q, " ", "+"), "tok-amy", "")
		list = nil
		json.Unmarshal(data, &list)
		if code != 200 || len(list) == 0 || list[0]["id"] != want {
			t.Errorf("search %q = %d %s, want %s first", q, code, data, want)
		}
	}
	if code, data = call(t, "GET", base+"?q=nothing-like-it", "tok-amy", ""); code != 200 || strings.TrimSpace(string(data)) != "[]" {
		t.Errorf("search without a hit = %d %s", code, data)
	}
	if code, _ = call(t, "GET", base+"/hello", "tok-amy", ""); code != 200 {
		t.Errorf("GET one = %d", code)
	}

	// PATCH changes only the fields given; attributes null removes the structured part.
	code, data = call(t, "PATCH", base+"/"+id, "tok-sam", `{"text":"Black, Green or Mint?","attributes":null}`)
	if m := obj(t, data); code != 200 || m["text"] != "Black, Green or Mint?" || m["name"] != "Colours" || m["attributes"] != nil {
		t.Fatalf("PATCH = %d %s", code, data)
	}
	if code, data = call(t, "PATCH", base+"/hello", "tok-sam", `{"category":"openers"}`); code != 200 || obj(t, data)["shortcut"] != "hi" {
		t.Fatalf("PATCH category = %d %s", code, data)
	}
	if code, _ = call(t, "DELETE", base+"/hello", "tok-sam", ""); code != 204 {
		t.Fatalf("DELETE = %d", code)
	}
	if code, data = call(t, "DELETE", base+"/hello", "tok-sam", ""); code != 404 || obj(t, data)["field"] != "id" {
		t.Fatalf("DELETE again = %d %s", code, data)
	}
}

func TestRefusals(t *testing.T) {
	base, _ := server(t)
	if code, _ := call(t, "POST", base, "tok-sam", `{"id":"a","name":"A","shortcut":"a","text":"t"}`); code != 201 {
		t.Fatal("setup")
	}
	for _, tc := range []struct {
		name, method, path, token, body string
		code                            int
		errCode, field                  string
	}{
		{"no token", "GET", "", "", "", 401, "unauthorized", ""},
		{"wrong token", "GET", "", "nope", "", 401, "unauthorized", ""},
		{"agent writes", "POST", "", "tok-amy", `{"name":"n","text":"t"}`, 403, "forbidden", ""},
		{"agent deletes", "DELETE", "/a", "tok-amy", "", 403, "forbidden", ""},
		{"missing name", "POST", "", "tok-sam", `{"text":"t"}`, 400, "bad-request", "name"},
		{"missing text", "POST", "", "tok-sam", `{"name":"n"}`, 400, "bad-request", "text"},
		{"blank name", "POST", "", "tok-sam", `{"name":"  ","text":"t"}`, 400, "bad-request", "name"},
		{"name too long", "POST", "", "tok-sam", `{"name":"` + strings.Repeat("é", 201) + `","text":"t"}`, 400, "bad-request", "name"},
		{"text too long", "POST", "", "tok-sam", `{"name":"n","text":"` + strings.Repeat("x", 101) + `"}`, 400, "bad-request", "text"},
		{"bad id", "POST", "", "tok-sam", `{"id":"a b","name":"n","text":"t"}`, 400, "bad-request", "id"},
		{"taken id", "POST", "", "tok-sam", `{"id":"a","name":"n","text":"t"}`, 409, "exists", "id"},
		{"bad shortcut", "POST", "", "tok-sam", `{"name":"n","text":"t","shortcut":"Hi There"}`, 400, "bad-request", "shortcut"},
		{"taken shortcut", "POST", "", "tok-sam", `{"name":"n","text":"t","shortcut":"a"}`, 409, "exists", "shortcut"},
		{"unknown field", "POST", "", "tok-sam", `{"name":"n","text":"t","colour":"red"}`, 400, "bad-request", "colour"},
		{"wrong type", "POST", "", "tok-sam", `{"name":7,"text":"t"}`, 400, "bad-request", "name"},
		{"not an object", "POST", "", "tok-sam", `[1]`, 400, "bad-request", ""},
		{"trailing data", "POST", "", "tok-sam", `{"name":"n","text":"t"} {}`, 400, "bad-request", ""},
		{"invalid UTF-8 escape", "POST", "", "tok-sam", `{"name":"\ud800","text":"t"}`, 400, "bad-request", ""},
		{"attributes not an object", "POST", "", "tok-sam", `{"name":"n","text":"t","attributes":"x"}`, 400, "bad-request", "attributes"},
		{"rich content not JSON", "POST", "", "tok-sam", `{"name":"n","text":"t","attributes":{"structured-content":{"genesys-chat":{"content":"{nope"}}}}`,
			400, "bad-request", "attributes.structured-content.genesys-chat.content"},
		{"rich type missing", "POST", "", "tok-sam", `{"name":"n","text":"t","attributes":{"structured-content":{"applebc-session":{"content":"{}"}}}}`,
			400, "bad-request", "attributes.structured-content.applebc-session.type"},
		{"attributes too large", "POST", "", "tok-sam", `{"name":"n","text":"t","attributes":{"k":"` + strings.Repeat("v", 400) + `"}}`, 400, "bad-request", "attributes"},
		{"too deep", "POST", "", "tok-sam", `{"name":"n","text":"t","attributes":` + strings.Repeat(`{"a":`, 20) + `"x"` + strings.Repeat("}", 20) + `}`, 400, "bad-request", "attributes"},
		{"patch id", "PATCH", "/a", "tok-sam", `{"id":"b"}`, 400, "bad-request", "id"},
		{"patch unknown", "PATCH", "/zz", "tok-sam", `{"name":"n"}`, 404, "not-found", "id"},
		{"patch empties text", "PATCH", "/a", "tok-sam", `{"text":""}`, 400, "bad-request", "text"},
		{"bad limit", "GET", "?limit=0", "tok-amy", "", 400, "bad-request", "limit"},
		{"get unknown", "GET", "/zz", "tok-amy", "", 404, "not-found", "id"},
		{"wrong method", "PUT", "/a", "tok-sam", `{}`, 405, "method-not-allowed", ""},
		{"body too large", "POST", "", "tok-sam", `{"name":"n","text":"` + strings.Repeat("x", responses.MaxBody) + `"}`, 413, "too-large", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, data := call(t, tc.method, base+tc.path, tc.token, tc.body)
			m := obj(t, data)
			if code != tc.code || m["code"] != tc.errCode || (m["field"] != nil && m["field"] != tc.field) || (tc.field != "" && m["field"] != tc.field) {
				t.Fatalf("= %d %s, want %d %s field %q", code, data, tc.code, tc.errCode, tc.field)
			}
			if msg, _ := m["message"].(string); msg == "" {
				t.Fatal("no message")
			}
		})
	}
	// Nothing refused was stored.
	code, data := call(t, "GET", base, "tok-amy", "")
	var list []map[string]any
	json.Unmarshal(data, &list)
	if code != 200 || len(list) != 1 {
		t.Fatalf("after the refusals: %d %s", code, data)
	}
}

func TestSearchOrder(t *testing.T) {
	all := []store.StandardResponse{
		{ID: "1", Name: "Refund policy", Text: "We refund within 30 days"},
		{ID: "2", Name: "Late delivery", Text: "Sorry, a refund is possible", Shortcut: "refund"},
		{ID: "3", Name: "Greeting", Text: "Hello"},
	}
	for _, tc := range []struct {
		q    string
		want string
	}{
		{"", "1,2,3"}, {"refund", "2,1"}, {"/refund", "2"}, {"ref", "1,2"}, {"hello", "3"}, {"refund 30", "1"}, {"zzz", ""},
	} {
		var ids []string
		for _, r := range responses.Search(all, tc.q) {
			ids = append(ids, r.ID)
		}
		if got := strings.Join(ids, ","); got != tc.want {
			t.Errorf("Search(%q) = %s, want %s", tc.q, got, tc.want)
		}
	}
}
