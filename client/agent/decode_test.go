package agent

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/confab/confab/client/internal/jsonscan"
)

// Frames as Confab's agent adapter writes them (internal/api/agent
// encode.go), and inputs the fast path must leave to encoding/json.
var (
	eventsFrame  = `{"type":"events","sessionId":"00048aAPEQJ8007U","events":[{"pos":4,"eventId":5,"kind":"message","time":"2026-12-01T14:28:41.123456789Z","timeShift":3,"from":{"userId":"0073C6E7E9A94E3C","num":1,"nickname":"customer-1","userType":"CLIENT"},"visibility":"ALL","text":"cfb:1:17:_123456789 Hello, I have a question about my last order and the delivery date.","msgType":"text"}],"next":5,"state":"alive"}`
	resultFrame  = `{"type":"result","id":"c42","op":"send","sessionId":"00048aAPEQJ8007U","pos":5,"eventId":6,"time":"2026-12-01T14:28:41.5+01:00"}`
	errorFrame   = `{"type":"error","id":"c43","op":"accept","code":6,"error":"unknown-interaction","message":"no such interaction","field":"interactionId"}`
	helloFrame   = `{"type":"hello","agent":{"id":"a1","name":"agent-0","userType":"AGENT","type":"AGENT","queues":["default"],"capacity":50},"maxFrameSize":1048576,"agentState":"not-ready"}`
	acceptResult = `{"type":"result","id":"c1","op":"accept","sessionId":"s1","userId":"u2","interaction":{"id":"s1","sessionId":"s1","tenant":"t","endpoint":"e","queue":"default","state":"accepted","online":true,"async":false,"userData":{"ChatServerWebapiToken":"tok","n":{"a":"b"}},"createdAt":"2026-12-01T14:00:00Z"},"webapiToken":"tok"}`
	leftEvents   = `{"type":"events","sessionId":"s1","events":[{"pos":9,"eventId":10,"kind":"partyLeft","time":"2026-12-01T14:28:42Z","timeShift":9,"from":{"userId":"u1","num":1,"nickname":"c","userType":"CLIENT","bot":false},"visibility":"ALL","reason":{"code":1,"text":"left"},"userData":{"k":"v"},"eventAttributes":{"x":{"y":"z"}}}],"replay":true,"next":10,"state":"closed"}`
	offerFrame   = `{"type":"offer","interactionId":"s2","offerKind":"route","expiresAt":"2026-12-01T14:29:00Z","interaction":{"id":"s2","sessionId":"s2","tenant":"t","endpoint":"e","queue":"q","state":"offered","online":true,"async":false,"userData":null,"createdAt":"2026-12-01T14:00:00Z"},"from":"","visibility":"ALL"}`
)

var fastFrames = []string{eventsFrame, resultFrame, errorFrame, helloFrame, acceptResult, leftEvents, offerFrame,
	`{"type":"result","pos":null,"time":null,"events":[],"unknownField":[1,{"a":null}]}`,
	`{"type":"events","events":[{"text":"caf\u00e9 \\ \"x\"","from":null}]}`,
	listFrame,
	`{"type":"events","events":[{"userData":{"k\u0061":"v"}}]}`, // an escaped key: only the map goes to encoding/json
	`{"type":"result","interaction":{"id":"s1","userData":{"a":"1","a":"2"},"closedAt":null,"extra":{"n":1}},"interactions":[]}`,
}

// listFrame: an op list's answer (interactions, one of them async and
// closed), its user data a nested key-value list.
const listFrame = `{"type":"result","id":"c2","op":"list","interactions":[{"id":"s1","sessionId":"s1","tenant":"t","endpoint":"e","queue":"default","subject":"order","state":"queued","online":true,"async":true,"asyncStatus":2,"agentId":"a1","userData":{"k":"v","GCTI_SYSTEM":{"party-info":{"style":"BOT"}}},"createdAt":"2026-12-01T14:00:00Z","closedAt":"2026-12-01T15:00:00.5+01:00"},{"id":"s2","sessionId":"s2","tenant":"t","endpoint":"e","queue":"q","state":"queued","online":false,"async":false,"userData":{},"createdAt":"2026-12-01T14:00:01Z"}]}`

var slowFrames = []string{
	`{"Type":"events"}`,
	`{"type":"events","type":"result"}`,
	`{"type":"events","events":[{"pos":1e2}]}`,
	`{"typ\u0065":"events"}`,
	`{"type":"result","time":"2026-12-01 14:28:41"}`, // time.Time refuses it
	`{"type":"result","time":"2026-12-01T14:28:41Z","x":}`,
	`{"type":"events","events":[{"from":{"USERID":"u"}}]}`,
	`{"type":"events"}{}`,
	`{"code":-9223372036854775809}`,
	`"events"`,
	`{"type":"result","interaction":{"ID":"s1"}}`,               // matches id only case-insensitively
	`{"type":"result","interaction":{"id":"s1","id":"s2"}}`,     // a duplicate key
	`{"type":"result","interaction":{"createdAt":"yesterday"}}`, // time.Time refuses it
	`{"type":"result","interactions":[null]}`,                   // left to encoding/json
	`{"type":"result","interaction":{"online":1}}`,              // not a bool
	`{"type":"result","interaction":{"userData":{"k":1e400}}}`,  // out of range
}

func decodeBothFrame(t *testing.T, data []byte) {
	t.Helper()
	var got, want Frame
	gerr := decodeFrame(data, &got)
	werr := json.Unmarshal(data, &want)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("%q: error %v, encoding/json %v", data, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", data, got, want)
	}
	var sc jsonscan.Scanner
	sc.Reset(data)
	var fast Frame
	if scanFrame(&sc, &fast) && sc.End() {
		if werr != nil {
			t.Fatalf("%q: the fast path accepted what encoding/json refuses: %v", data, werr)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("%q: fast path\n got %#v\nwant %#v", data, fast, want)
		}
	}
}

func TestDecodeFrame(t *testing.T) {
	for _, in := range append(append([]string{}, fastFrames...), slowFrames...) {
		decodeBothFrame(t, []byte(in))
	}
}

// TestDecodeFrameFastPath pins which frames take the fast path.
func TestDecodeFrameFastPath(t *testing.T) {
	for i, in := range append(append([]string{}, fastFrames...), slowFrames...) {
		var sc jsonscan.Scanner
		sc.ResetString(in)
		var f Frame
		want := i < len(fastFrames)
		if got := scanFrame(&sc, &f) && sc.End(); got != want {
			t.Errorf("%s: fast path %v, want %v", in, got, want)
		}
	}
}

// TestDecodeAcceptResultFast pins that an accept's answer and a partyLeft
// event (an interaction, user data, event attributes) are read without
// encoding/json: at most half its allocations.
func TestDecodeAcceptResultFast(t *testing.T) {
	for _, in := range []string{acceptResult, leftEvents} {
		data := []byte(in)
		n := testing.AllocsPerRun(200, func() {
			var f Frame
			if err := decodeFrame(data, &f); err != nil {
				t.Fatal(err)
			}
		})
		j := testing.AllocsPerRun(200, func() {
			var f Frame
			if err := json.Unmarshal(data, &f); err != nil {
				t.Fatal(err)
			}
		})
		if n*2 > j {
			t.Errorf("%.40s…: %.0f allocations, encoding/json %.0f: want at most half", in, n, j)
		}
	}
}

// TestDecodeEventsFrameAllocs bounds the allocations of an events frame
// with one message: the frame's one string and the events slice.
func TestDecodeEventsFrameAllocs(t *testing.T) {
	data := []byte(eventsFrame)
	var f Frame
	n := testing.AllocsPerRun(200, func() {
		f = Frame{}
		if err := decodeFrame(data, &f); err != nil || len(f.Events) != 1 {
			t.Fatal(err)
		}
	})
	if n > 3 {
		t.Errorf("decoding an events frame allocates %.0f times, want at most 3", n)
	}
}

func BenchmarkDecodeEventsFrame(b *testing.B) {
	data := []byte(eventsFrame)
	for _, tc := range []struct {
		name string
		dec  func(*Frame) error
	}{
		{"encoding-json", func(f *Frame) error { return json.Unmarshal(data, f) }},
		{"scanner", func(f *Frame) error { return decodeFrame(data, f) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var f Frame
				if err := tc.dec(&f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzDecodeFrame checks decodeFrame against encoding/json on any input.
func FuzzDecodeFrame(f *testing.F) {
	for _, in := range append(append([]string{}, fastFrames...), slowFrames...) {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeBothFrame(t, data)
	})
}

func TestKeyIndexes(t *testing.T) {
	for _, tc := range []struct {
		names []string
		index func(string) int
	}{{frameKeys, frameIndex}, {eventKeys, eventIndex}, {partyKeys, partyIndex},
		{interactionKeys, interactionIndex}, {reasonKeys, reasonIndex}} {
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

// BenchmarkDecodeAcceptResult: an accept's answer (an interaction with its
// user data), with encoding/json and with decodeFrame.
func BenchmarkDecodeAcceptResult(b *testing.B) {
	data := []byte(acceptResult)
	for _, tc := range []struct {
		name string
		dec  func(*Frame) error
	}{
		{"encoding-json", func(f *Frame) error { return json.Unmarshal(data, f) }},
		{"scanner", func(f *Frame) error { return decodeFrame(data, f) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var f Frame
				if err := tc.dec(&f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
