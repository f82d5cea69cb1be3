package jsonscan

import (
	"encoding/json"
	"reflect"
	"testing"
)

// mapInputs: objects as Confab writes user data and event attributes
// (nested objects of strings), the other JSON values, and inputs Map must
// refuse or leave to encoding/json.
var mapInputs = []string{
	`{}`, ` { } `, `{"a":"b"}`, `{"GCTI_SYSTEM":{"party-info":{"style":"BOT"}},"k":"v"}`,
	`{"n":3,"f":-2.5e+3,"z":-0,"t":true,"u":false,"x":null,"l":[1,"a",[],{},null]}`,
	`{"a":"1","a":"2"}`, `{"a":{"b":"c"},"a":{"d":"e"}}`, `{"s":"h\u00e9 \"q\"\n","é":"ü"}`,
	`{"a\u0062":"x"}`, "{\"\xff\":\"x\"}", "{\"k\":\"\xff\"}", `{"big":1e400}`, `{"a":1,}`, `{"a" 1}`,
	`{"a":[1,]}`, `{"a":[,1]}`, `{"a":01}`, `{"a":tru}`, `{"a":}`, `{"a":"b"`, `{`, ``, `[]`, `"x"`,
	`null`, `7`, `{"a":"b"} x`, `{"a":{"b":{"c":{"d":[[[["deep"]]]]}}}}`,
}

// TestMap checks Map against encoding/json: whatever it accepts,
// encoding/json accepts and decodes to the same map.
func TestMap(t *testing.T) {
	fast := 0
	for _, in := range mapInputs {
		if checkMap(t, in) {
			fast++
		}
	}
	if fast < 10 {
		t.Errorf("Map read %d of the inputs, want the 10 plain ones at least", fast)
	}
}

// TestMapPlain pins that the shapes Confab writes take the fast path.
func TestMapPlain(t *testing.T) {
	for _, in := range mapInputs[:8] {
		var sc Scanner
		sc.ResetString(in)
		if sc.Map(); sc.Failed() || !sc.End() {
			t.Errorf("Map(%s) gave up", in)
		}
	}
}

func checkMap(t *testing.T, in string) bool {
	t.Helper()
	var sc Scanner
	sc.ResetString(in)
	got := sc.Map()
	if sc.Failed() || !sc.End() {
		return false
	}
	var want map[string]any
	if err := json.Unmarshal([]byte(in), &want); err != nil {
		t.Fatalf("Map(%q) accepted what encoding/json refuses: %v", in, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Map(%q):\n got %#v\nwant %#v", in, got, want)
	}
	return true
}

// FuzzMap checks Map against encoding/json on any input.
func FuzzMap(f *testing.F) {
	for _, in := range mapInputs {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) { checkMap(t, in) })
}
