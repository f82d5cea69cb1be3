package chatv2

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/confab/confab/client/internal/jsonscan"
)

// A push frame and answers as Confab's encoder writes them
// (internal/api/webapi/encode.go), and inputs the fast path must leave to
// encoding/json.
var (
	pushFrame  = `{"statusCode":0,"alias":"117","userId":"0073C6E7E9A94E3C","secureKey":"8b31761b2154884c","chatId":"00048aAPEQJ8007U","chatEnded":false,"nextPosition":6,"messages":[{"from":{"nickname":"agent-0","participantId":2,"type":"Agent"},"index":5,"type":"Message","text":"cfb:2:17:_123456789 Hello, I have a question about my last order and the delivery date.","utcTime":1764599321123}]}`
	sendAnswer = `{"statusCode":0,"alias":"117","userId":"0073C6E7E9A94E3C","secureKey":"8b31761b2154884c","chatId":"00048aAPEQJ8007U","chatEnded":false,"nextPosition":7,"messages":[]}`
	fileAnswer = `{"statusCode":0,"chatEnded":false,"messages":[{"from":{"nickname":"system","participantId":0,"type":"External"},"index":0,"type":"Notice","utcTime":1,"userData":{"upload-max-file-size":"10485760","n":3}}],"userData":{"a":"b"}}`
	errAnswer  = `{"statusCode":2,"chatEnded":true,"messages":[],"errors":[{"code":102,"advice":"the chat is over"}]}`
	resync     = `{"statusCode":0,"chatEnded":false,"messages":[],"resyncFrom":40}`
)

var fastInputs = []string{pushFrame, sendAnswer, fileAnswer, errAnswer, resync,
	` {"messages":[{"text":"h\u00e9 \"quoted\"\n","from":null}], "extra":{"x":[1,2.5e3,true,null]}} `,
	`{"messages":[{"text":"héllo ☃"}],"statusCode":-0}`,
	`{"userId":null,"messages":null}`,
	`{"messages":[{"userData":{"a":"1","a":{"b":[true,null,-1.5]}},"eventAttributes":{}}],"userData":{"k\u0061":"v"}}`,
}

var slowInputs = []string{
	`{"StatusCode":1}`,                // matches statusCode only case-insensitively
	`{"statusCode":1,"statusCode":2}`, // a duplicate key
	`{"messages":[{"index":1.0}]}`,    // not an integer: encoding/json refuses it
	`{"stat\u0075sCode":1}`,           // an escaped key
	`{"messages":[{"from":{"Nickname":"x"}}]}`,
	`{"text":"x","ſtatusCode":1}`,         // non-ASCII key (Unicode folding)
	`{"statusCode":99999999999999999999}`, // overflows
	`{"statusCode":0} x`,                  // trailing data (json.Unmarshal refuses it; a stream decoder does not)
	`{"statusCode":0,}`,
	`[1]`,
	`null`,
	``,
	"{\"alias\":\"a\xffb\"}",                  // invalid UTF-8 becomes U+FFFD
	`{"messages":[{"userData":{"k":1e400}}]}`, // out of range
	`{"messages":[{"userData":"x"}]}`,
}

// decodeBoth decodes data with decodeResponse and with encoding/json and
// fails t when they disagree.
func decodeBoth(t *testing.T, data []byte, stream bool) {
	t.Helper()
	var got, want Response
	gerr := decodeResponse(data, &got, stream)
	var werr error
	if stream {
		werr = json.NewDecoder(bytes.NewReader(data)).Decode(&want)
	} else {
		werr = json.Unmarshal(data, &want)
	}
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("%q (stream %v): error %v, encoding/json %v", data, stream, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q (stream %v):\n got %#v\nwant %#v", data, stream, got, want)
	}
	// The fast path on its own: whatever it accepts, encoding/json accepts
	// and decodes the same way.
	var sc jsonscan.Scanner
	sc.Reset(data)
	var fast Response
	if scanResponse(&sc, &fast) && (stream || sc.End()) {
		if werr != nil {
			t.Fatalf("%q (stream %v): the fast path accepted what encoding/json refuses: %v", data, stream, werr)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("%q (stream %v): fast path\n got %#v\nwant %#v", data, stream, fast, want)
		}
	}
}

func TestDecodeResponse(t *testing.T) {
	for _, in := range append(append([]string{}, fastInputs...), slowInputs...) {
		for _, stream := range []bool{false, true} {
			decodeBoth(t, []byte(in), stream)
		}
	}
}

// TestDecodeResponseFastPath pins that the frames Confab sends take the
// fast path, and that the inputs it must not handle do not.
func TestDecodeResponseFastPath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fast bool
	}{
		{fastInputs[0], true}, {fastInputs[1], true}, {fastInputs[2], true}, {fastInputs[3], true},
		{fastInputs[4], true}, {fastInputs[5], true}, {fastInputs[6], true}, {fastInputs[7], true},
		{slowInputs[0], false}, {slowInputs[1], false}, {slowInputs[2], false}, {slowInputs[3], false},
		{slowInputs[4], false}, {slowInputs[5], false}, {slowInputs[6], false}, {slowInputs[7], false},
	} {
		var sc jsonscan.Scanner
		sc.ResetString(tc.in)
		var r Response
		if got := scanResponse(&sc, &r) && sc.End(); got != tc.fast {
			t.Errorf("%s: fast path %v, want %v", tc.in, got, tc.fast)
		}
	}
}

// TestDecodePushFrameAllocs bounds the allocations of a push frame with one
// message: the Response (it escapes, as Next returns it), the frame's one
// string and the messages slice.
func TestDecodePushFrameAllocs(t *testing.T) {
	data := []byte(pushFrame)
	n := testing.AllocsPerRun(200, func() {
		var r Response
		if err := decodeResponse(data, &r, false); err != nil || len(r.Messages) != 1 {
			t.Fatal(err)
		}
	})
	if n > 3 {
		t.Errorf("decoding a push frame allocates %.0f times, want at most 3", n)
	}
}

// TestDecodeUserDataFast pins that messages with user data and event
// attributes are read without encoding/json: at most half its allocations.
func TestDecodeUserDataFast(t *testing.T) {
	notice := `{"statusCode":0,"chatEnded":false,"nextPosition":3,"messages":[{"from":{"nickname":"system","participantId":0,"type":"External"},"index":2,"type":"Notice","text":"hi","utcTime":1,"userData":{"k":"v"},"eventAttributes":{"GCTI_SYSTEM":{"party-info":{"style":"BOT"}}}}]}`
	for _, in := range []string{fileAnswer, notice} {
		data := []byte(in)
		n := testing.AllocsPerRun(200, func() {
			var r Response
			if err := decodeResponse(data, &r, false); err != nil {
				t.Fatal(err)
			}
		})
		j := testing.AllocsPerRun(200, func() {
			var r Response
			if err := json.Unmarshal(data, &r); err != nil {
				t.Fatal(err)
			}
		})
		if n*2 > j {
			t.Errorf("%.40s…: %.0f allocations, encoding/json %.0f: want at most half", in, n, j)
		}
	}
}

func BenchmarkDecodePushFrame(b *testing.B) {
	data := []byte(pushFrame)
	for _, tc := range []struct {
		name string
		dec  func(*Response) error
	}{
		{"encoding-json", func(r *Response) error { return json.Unmarshal(data, r) }},
		{"scanner", func(r *Response) error { return decodeResponse(data, r, false) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var r Response
				if err := tc.dec(&r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzDecodeResponse checks decodeResponse against encoding/json on any
// input, both as a whole message (push frames) and as a stream (answers).
func FuzzDecodeResponse(f *testing.F) {
	for _, in := range append(append([]string{}, fastInputs...), slowInputs...) {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeBoth(t, data, false)
		decodeBoth(t, data, true)
	})
}

func TestKeyIndexes(t *testing.T) {
	for _, tc := range []struct {
		names []string
		index func(string) int
	}{{responseKeys, responseIndex}, {messageKeys, messageIndex}, {partyKeys, partyIndex}} {
		for i, n := range tc.names {
			if got := tc.index(n); got != i {
				t.Errorf("index(%q) = %d, want %d", n, got, i)
			}
		}
		if got := tc.index("nope"); got != len(tc.names) {
			t.Errorf("index(unknown) = %d, want %d", got, len(tc.names))
		}
	}
}
