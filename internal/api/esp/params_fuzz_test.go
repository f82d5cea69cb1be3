package esp

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/confab/confab/internal/kv"
)

// FuzzDecodeParams checks that no body panics the parameter decoder, that a
// refusal names a fault code, and that accepted parameters are strings that
// survive being encoded and decoded again.
func FuzzDecodeParams(f *testing.F) {
	for _, s := range []string{
		`{"InteractionId":"abc","MessageText":"hi"}`,
		`{"InteractionId":"abc","EventAttributes":{"a":{"b":"c"}}}`,
		`{"InteractionId":"abc","EventAttributes":"a.b:c|d:e"}`,
		`{"MessageText":5}`, `[]`, ``, `{"a":"\u00e9"} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, flt := decodeParams(body)
		if flt != nil {
			if flt.FaultCode == 0 || flt.FaultString == "" || flt.status < 400 {
				t.Fatalf("fault without code, text or 4xx status: %+v", flt)
			}
			return
		}
		enc, err := json.Marshal(map[string]string(p))
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, flt := decodeParams(enc)
		if flt != nil {
			t.Fatalf("re-decode of %s: %+v", enc, flt)
		}
		if len(again) != len(p) {
			t.Fatalf("round trip changed the parameters: %v -> %v", p, again)
		}
		for k, v := range p {
			if again[k] != v {
				t.Fatalf("parameter %q: %q -> %q", k, v, again[k])
			}
		}
	})
}

// FuzzEventAttributes checks that an EventAttributes value never panics the
// parser and that what it accepts round-trips: the list-like form through
// kv.FormatList, the JSON form through JSON.
func FuzzEventAttributes(f *testing.F) {
	for _, s := range []string{
		"key1:value1|key2:value2|key3.subkey1:subvalue1",
		`{"key1":"value1","key3":{"subkey1":"subvalue1"}}`,
		"a.b.c:d| e : f |",
		`{"structured-content":{"genesys-chat":{"content":"{\"type\":\"Message\"}","type":"Generic"}}}`,
		"a:1|a.b:2", ":", "x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, flt := params{"EventAttributes": s}.kvParam("EventAttributes")
		if flt != nil {
			if flt.Parameter != "EventAttributes" {
				t.Fatalf("fault names %q", flt.Parameter)
			}
			return
		}
		if m == nil {
			if strings.TrimSpace(s) != "" {
				t.Fatalf("%q parsed to nothing", s)
			}
			return
		}
		var again kv.Map
		if strings.HasPrefix(strings.TrimSpace(s), "{") {
			enc, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			again, flt = params{"EventAttributes": string(enc)}.kvParam("EventAttributes")
		} else {
			again, flt = params{"EventAttributes": kv.FormatList(m)}.kvParam("EventAttributes")
		}
		if flt != nil {
			t.Fatalf("re-parse of %v: %+v", m, flt)
		}
		if !kv.Equal(m, again) && !(len(m) == 0 && len(again) == 0) {
			t.Fatalf("round trip of %q: %v != %v", s, m, again)
		}
	})
}
