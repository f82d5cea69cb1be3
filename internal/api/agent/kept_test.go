package agent

import (
	"reflect"
	"testing"

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
