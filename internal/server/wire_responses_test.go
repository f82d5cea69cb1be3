package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestStandardResponsesWired: on a real node the standard responses are on
// the agent listener; the admin token and a supervisor write, an agent
// reads and is refused a write, and a text longer than a message may be is
// refused naming the field (the limit follows xml-request-max-size).
func TestStandardResponsesWired(t *testing.T) {
	n := startE2E(t, t.TempDir(), "[settings]\nxml-request-max-size = 1000\n")
	do := func(method, path, token, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, n.agentURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		var list []any
		if method == "GET" && path == "/agent/v1/responses" {
			json.NewDecoder(resp.Body).Decode(&list)
			return resp.StatusCode, map[string]any{"n": float64(len(list))}
		}
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if code, m := do("POST", "/agent/v1/responses", n.adminToken, `{"id":"hi","name":"Welcome","text":"Hello"}`); code != 201 {
		t.Fatalf("admin POST = %d %v", code, m)
	}
	if code, m := do("POST", "/agent/v1/responses", "tok-sue", `{"name":"Bye","text":"Goodbye"}`); code != 201 {
		t.Fatalf("supervisor POST = %d %v", code, m)
	}
	if code, m := do("POST", "/agent/v1/responses", "tok-alice", `{"name":"Mine","text":"x"}`); code != 403 || m["code"] != "forbidden" {
		t.Fatalf("agent POST = %d %v", code, m)
	}
	if code, m := do("POST", "/agent/v1/responses", "tok-sue", `{"name":"Long","text":"`+strings.Repeat("x", 451)+`"}`); code != 400 || m["field"] != "text" {
		t.Fatalf("long text = %d %v", code, m)
	}
	if code, m := do("GET", "/agent/v1/responses", "tok-alice", ""); code != 200 || m["n"] != 2.0 {
		t.Fatalf("agent GET = %d %v", code, m)
	}
	if code, _ := do("GET", "/agent/v1/responses", "not-a-token", ""); code != 401 {
		t.Fatalf("bad token GET = %d", code)
	}
}
