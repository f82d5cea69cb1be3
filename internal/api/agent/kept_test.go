package agent

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
)

// TestEncodeKeptMatchesTwoEncodings: the answer and its duplicate's answer
// that encodeKept derives from one encoding are the bytes two encodings
// give (the frame, and the frame marked duplicate), with every field of
// wire.Frame set in turn and all at once, on the hand-made and the
// encoding/json paths — including strings that hold the duplicate mark
// itself.
func TestEncodeKeptMatchesTwoEncodings(t *testing.T) {
	typ := reflect.TypeOf(wire.Frame{})
	var frames []wire.Frame
	names := []string{}
	for i := 0; i < typ.NumField(); i++ {
		if typ.Field(i).Name == "Duplicate" {
			continue
		}
		var f wire.Frame
		f.Type = wire.FrameResult
		fillValue(t, reflect.ValueOf(&f).Elem().Field(i))
		frames = append(frames, f)
		names = append(names, typ.Field(i).Name)
	}
	var all wire.Frame
	fillValue(t, reflect.ValueOf(&all).Elem())
	all.Duplicate = false
	frames = append(frames, all)
	names = append(names, "all")
	mark := wire.Frame{Type: wire.FrameResult, ID: dupMark, Op: dupMark + `"}`, Message: dupMark}
	frames = append(frames, mark)
	names = append(names, "mark in the strings")
	for _, fast := range []bool{true, false} {
		c := &conn{h: &Handler{fastFrames: fast}}
		for i := range frames {
			f := frames[i]
			dup := f
			dup.Duplicate = true
			wantAnswer, err1 := encodeFrame(nil, &f, fast)
			wantKept, err2 := encodeFrame(nil, &dup, fast)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: %v, %v", names[i], err1, err2)
			}
			buf, kept := c.encodeKept(&f)
			if buf == nil {
				t.Fatalf("fast=%v %s: no answer", fast, names[i])
			}
			if string(*buf) != string(wantAnswer) {
				t.Errorf("fast=%v %s: answer\n got %s\nwant %s", fast, names[i], *buf, wantAnswer)
			}
			if string(kept) != string(wantKept) {
				t.Errorf("fast=%v %s: kept\n got %s\nwant %s", fast, names[i], kept, wantKept)
			}
			if f.Duplicate {
				t.Fatalf("%s: the caller's frame was changed", names[i])
			}
		}
	}
}

// BenchmarkAnswerEncode: what an answered request costs to encode — an
// accept's answer (with its interaction) and a send's — as two encodings
// (the answer marked duplicate, kept, then the answer itself: before) and
// as encodeKept's one.
func BenchmarkAnswerEncode(b *testing.B) {
	at := time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC)
	pos := 7
	ix := wire.Interaction{ID: "0123456789abcdef", SessionID: "0123456789abcdef", Tenant: "default", Endpoint: "default", Queue: "chat",
		State: "assigned", Online: true, AgentID: "agent-17", CreatedAt: at,
		UserData: map[string]any{"ChatServerAppName": "confab", "ChatServerSessionId": "0123456789abcdef", "IsOnline": "1",
			"FirstName": "Ann", "LastName": "Lee", "EmailAddress": "ann@example.com", "Subject": "order 1234"}}
	frames := map[string]wire.Frame{
		"accept": {Type: wire.FrameResult, ID: "req-000123", Op: "accept", SessionID: "0123456789abcdef", UserID: "0123456789ABCDEF", Interaction: &ix},
		"send":   {Type: wire.FrameResult, ID: "req-000124", Op: "send", SessionID: "0123456789abcdef", Pos: &pos, EventID: 8, Time: &at},
	}
	for _, name := range []string{"accept", "send"} {
		f := frames[name]
		c := &conn{h: &Handler{fastFrames: wireLayoutKnown()}}
		b.Run(name+"/two-encoding-json", func(b *testing.B) { // main before: an interaction took encoding/json
			b.ReportAllocs()
			for b.Loop() {
				dup := f
				dup.Duplicate = true
				kept, _ := json.Marshal(&dup)
				data, _ := json.Marshal(&f)
				_, _ = kept, data
			}
		})
		b.Run(name+"/two-encodings", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				dup := f
				dup.Duplicate = true
				buf := c.h.getBuf()
				data, _ := encodeFrame(*buf, &dup, c.h.fastFrames)
				kept := slices.Clone(data)
				data, _ = encodeFrame(data[:0], &f, c.h.fastFrames)
				*buf = data
				c.h.putBuf(buf)
				_ = kept
			}
		})
		b.Run(name+"/one-encoding", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf, kept := c.encodeKept(&f)
				c.h.putBuf(buf)
				_ = kept
			}
		})
	}
}
