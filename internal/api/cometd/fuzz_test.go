package cometd

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecodeBatch: the Bayeux decoder never panics, bounds its output, and
// every message it accepts either passes check or gets an error string of
// the code:args:message form.
func FuzzDecodeBatch(f *testing.F) {
	for _, s := range []string{
		`[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["websocket","long-polling"],"id":"1"}]`,
		`{"channel":"/meta/connect","clientId":"abc","connectionType":"long-polling","advice":{"timeout":0},"id":2}`,
		`[{"channel":"/service/chatV2/customer-support","clientId":"x","data":{"operation":"sendMessage","message":"hi","secureKey":"k"}}]`,
		`[{"channel":"/meta/subscribe","clientId":"x","subscription":["/service/chatV2/a","/b"]}]`,
		`[]`, `[1]`, `{"channel":`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := decodeBatch(b)
		if err != nil {
			return
		}
		if len(msgs) == 0 || len(msgs) > maxBatch {
			t.Fatalf("%d messages accepted", len(msgs))
		}
		for i := range msgs {
			if e := msgs[i].check(); e != "" {
				if parts := strings.SplitN(e, ":", 3); len(parts) != 3 || len(parts[0]) != 3 {
					t.Fatalf("error %q is not code:args:message", e)
				}
				continue
			}
			if len(msgs[i].Data) > 0 {
				if _, e := decodeCall(msgs[i].Data); e == "" && !json.Valid(msgs[i].Data) {
					t.Fatal("accepted invalid data")
				}
			}
			msgs[i].subscriptions()
		}
	})
}

// FuzzJSONPParams: an accepted callback name can only be a dotted
// JavaScript identifier, so callback(…) is one call expression.
func FuzzJSONPParams(f *testing.F) {
	for _, s := range [][2]string{
		{"_cometd_jsonp_0", `[{"channel":"/meta/handshake"}]`},
		{"jQuery123.cb", `[]`},
		{"alert(1)//", `[]`},
		{"a;b", `[]`},
		{"", ""},
		{"$", "x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, cb, msg string) {
		gotCB, gotMsg, e := jsonpParams(cb, msg, 1024)
		if e != "" {
			return
		}
		if gotCB != cb || gotMsg != msg || len(msg) > 1024 || cb == "" || len(cb) > 128 {
			t.Fatalf("accepted %q %q", cb, msg)
		}
		for i, r := range cb {
			ok := r == '_' || r == '$' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9' && i > 0)
			if !ok {
				t.Fatalf("accepted callback %q with %q", cb, r)
			}
		}
		if strings.Contains(cb, "..") || strings.HasPrefix(cb, ".") || strings.HasSuffix(cb, ".") {
			t.Fatalf("accepted callback %q", cb)
		}
	})
}
