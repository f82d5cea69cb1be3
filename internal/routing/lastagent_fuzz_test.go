package routing

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzLastAgentOf checks that any stored transcript is read without a
// panic and that the agent named, if any, is one of its AGENT parties.
func FuzzLastAgentOf(f *testing.F) {
	for _, s := range []string{
		`{"participants":[{"userType":"CLIENT","joinedAt":1},{"userType":"AGENT","personId":"amy","visibility":"ALL","joinedAt":2}]}`,
		`{"participants":[{"userType":"AGENT","personId":"bot","bot":true,"joinedAt":3},{"userType":"AGENT","personId":"coach","visibility":"INT","joinedAt":4}]}`,
		`{"participants":null}`, `[]`, `{"participants":[{"userType":"AGENT","personId":5}]}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := LastAgentOf(json.RawMessage(data))
		if got != "" && !strings.Contains(string(data), "AGENT") {
			t.Fatalf("named %q from a transcript without an AGENT party", got)
		}
	})
}

func TestLastAgentOf(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"participants":[{"userType":"AGENT","personId":"amy","visibility":"ALL","joinedAt":2},{"userType":"AGENT","personId":"ben","visibility":"ALL","joinedAt":5}]}`, "ben"},
		{`{"participants":[{"userType":"AGENT","personId":"amy","visibility":"ALL","joinedAt":2},{"userType":"AGENT","personId":"bot","bot":true,"joinedAt":5}]}`, "amy"},
		{`{"participants":[{"userType":"AGENT","personId":"amy","visibility":"INT","joinedAt":2},{"userType":"SUPERVISOR","personId":"sue","joinedAt":5}]}`, ""},
		{`not json`, ""},
	} {
		if got := LastAgentOf(json.RawMessage(tc.in)); got != tc.want {
			t.Errorf("LastAgentOf(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
