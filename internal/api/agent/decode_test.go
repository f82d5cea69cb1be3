package agent

import (
	"reflect"
	"strings"
	"testing"

	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/validate"
)

// decodeBoth decodes data with decodeFast and with encoding/json. fast
// reports whether the fast path took it.
func decodeBoth(data []byte) (fastReq, slowReq request, fast bool, slowErr *opError) {
	fast = decodeFast(data, &fastReq)
	slowErr = decodeJSON(data, &slowReq)
	return
}

func TestDecodeFastMatchesEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		frame string
		fast  bool // whether the fast path must take it
	}{
		{`{"id":"c42","op":"send","sessionId":"00048aAPEQJ8007U","text":"Hello","msgType":"text","visibility":"ALL"}`, true},
		{` { "id" : "1" , "op" : "ping" } `, true},
		{"{\n\t\"id\":\"1\",\r\n\"op\":\"ping\"}\n", true},
		{`{}`, true},
		{`{"id":"1","id":"2","op":"ping"}`, true},
		{`{"id":"1","op":"history","limit":25,"after":"X"}`, true},
		{`{"id":"1","op":"history","limit":-3}`, true},
		{`{"id":"1","op":"history","limit":0}`, true},
		{`{"id":"1","op":"history","limit":-0}`, true},
		{`{"id":"1","op":"send","text":"a \"q\" \\ \/ \b\f\n\r\t \u00e9 \u2028 \ud83d\ude00 \u0000 <b>&"}`, true},
		{`{"id":"1","op":"send","text":"é ü 😀 plain UTF-8"}`, true},
		{`{"id":"1","op":"send","text":""}`, true},
		{`{"id":"1","op":"send","text":"` + string(make([]byte, 0)) + `x\u0041\u004a"}`, true},
		{`{"id":"1","op":"state","state":"not-ready","reason":"lunch"}`, true},
		{`{"id":"1","op":"transfer","sessionId":"S","to":"queue:sales","visibility":"INT"}`, true},
		{`{"id":"1","op":"join","sessionId":"S","userType":"AGENT","nickname":"Ann","userId":"u"}`, true},
		{`{"id":"1","op":"notify","sessionId":"S","noticeType":"TYPING_STARTED","receiverId":"r","treatAs":"x","afterAction":"KEEP_ALIVE","queue":"q","interactionId":"i","workbin":"w"}`, true},
		// left to encoding/json
		{`{"ID":"1","op":"ping"}`, false},
		{`{"id":"1","op":"send","userData":{"a":"b"}}`, false},
		{`{"id":"1","op":"send","eventAttributes":null}`, false},
		{`{"id":null,"op":"ping"}`, false},
		{`{"id":"1","op":"history","limit":"5"}`, false},
		{`{"id":"1","op":"history","limit":5.0}`, false},
		{`{"id":"1","op":"history","limit":1e2}`, false},
		{`{"id":"1","op":"history","limit":05}`, false},
		{`{"id":"1","op":"history","limit":9999999999999999999999}`, false},
		{`{"id":"1","op":"ping"}}`, false},
		{`{"id":"1","op":"ping"} {}`, false},
		{`{"id":"1","op":"ping",}`, false},
		{`{"id":"1" "op":"ping"}`, false},
		{`{"i\u0064":"1"}`, false},
		{`{"id":"1","txt":"x"}`, false},
		{`{"id":"1","op":"send","text":"a` + "\x01" + `"}`, false},
		{`{"id":"1","op":"send","text":"\x"}`, false},
		{`{"id":"1","op":"send","text":"\u12"}`, false},
		{`{"id":"1","op":"send","text":"abc`, false},
		{`{"id":1,"op":"ping"}`, false},
		{`[]`, false},
	} {
		fastReq, slowReq, fast, slowErr := decodeBoth([]byte(tc.frame))
		if fast != tc.fast {
			t.Errorf("%s: fast path took it: %v, want %v", tc.frame, fast, tc.fast)
		}
		if fast && (slowErr != nil || !reflect.DeepEqual(fastReq, slowReq)) {
			t.Errorf("%s:\n fast %+v\n json %+v (%v)", tc.frame, fastReq, slowReq, slowErr)
		}
	}
}

// TestDecodeRequestAllocations: a send frame costs its strings only.
func TestDecodeRequestAllocations(t *testing.T) {
	data := []byte(`{"id":"c42","op":"send","sessionId":"00048aAPEQJ8007U","text":"Hello, I have a question.","msgType":"text","visibility":"ALL"}`)
	n := testing.AllocsPerRun(100, func() {
		if _, ferr := decodeRequest(data); ferr != nil {
			t.Fatal(ferr)
		}
	})
	if n > 3 { // id, sessionId, text; op, msgType and visibility are constants
		t.Errorf("decodeRequest of a send: %v allocations, want at most 3", n)
	}
}

// FuzzDecodeFast checks that every frame the fast decoder takes decodes to
// the same request with encoding/json, and that the fast path's strings do
// not share the frame's bytes.
func FuzzDecodeFast(f *testing.F) {
	for _, s := range []string{
		`{"id":"c42","op":"send","sessionId":"S","text":"Hello","msgType":"text","visibility":"ALL"}`,
		`{"id":"1","op":"history","limit":-25,"after":"X"}`,
		`{"id":"1","op":"send","text":"a \"q\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00"}`,
		`{"ID":"1","op":"ping"}`, `{"id":"1","op":"ping"}}`, `{"id":"1","limit":5.0}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !validate.JSONText(data) || kv.JSONDepth(data, kv.MaxDepth+1) > kv.MaxDepth+1 {
			return // decodeRequest refuses these before either decoder
		}
		fastReq, slowReq, fast, slowErr := decodeBoth(data)
		if !fast {
			return
		}
		if slowErr != nil {
			t.Fatalf("fast path took %q, encoding/json refuses it: %v", data, slowErr)
		}
		if !reflect.DeepEqual(fastReq, slowReq) {
			t.Fatalf("%q:\n fast %+v\n json %+v", data, fastReq, slowReq)
		}
		text := strings.Clone(fastReq.Text)
		for i := range data {
			data[i] = 'X'
		}
		if fastReq.Text != text {
			t.Fatalf("the fast path's text shares the frame's bytes")
		}
	})
}
