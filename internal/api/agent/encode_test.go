package agent

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
)

// fillValue sets v to a non-zero value of its type, as a frame's field may
// carry.
func fillValue(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString(`a "<b>" & é`)
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Map:
		v.Set(reflect.ValueOf(map[string]any{"k": "v", "a": kv.Map{"n": "<1>"}}).Convert(v.Type()))
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 { // json.RawMessage
			v.SetBytes([]byte(`{"x":1}`))
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		fillValue(t, s.Index(0))
		v.Set(s)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fillValue(t, p.Elem())
		v.Set(p)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 12, 1, 11, 22, 33, 456789000, time.UTC)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillValue(t, v.Field(i))
			}
		}
	default:
		t.Fatalf("no filler for %s", v.Type())
	}
}

// TestEncodeFrameMatchesEncodingJSON sets every field of wire.Frame in turn
// (and all of them at once) and compares the hand-made encoding with
// encoding/json's: a field added to the protocol without a line in
// appendFrame fails here.
func TestEncodeFrameMatchesEncodingJSON(t *testing.T) {
	if !wireLayoutKnown() {
		t.Fatal("client/agent's wire types have fields appendFrame/appendEvent do not write: teach them (and the known*Fields lists) the new fields; until then every frame goes through encoding/json")
	}
	typ := reflect.TypeOf(wire.Frame{})
	check := func(name string, f *wire.Frame) {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeFrame(nil, f, true)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s:\n got %s (%v)\nwant %s", name, got, err, want)
		}
	}
	for i := 0; i < typ.NumField(); i++ {
		var f wire.Frame
		fillValue(t, reflect.ValueOf(&f).Elem().Field(i))
		check(typ.Field(i).Name, &f)
	}
	// Everything the fast path writes at once.
	var all wire.Frame
	fillValue(t, reflect.ValueOf(&all).Elem())
	all.Interactions, all.Agent, all.History = nil, nil, nil
	check("all fast-path fields", &all)
	// An interaction with its omitted fields empty, and with its user data
	// nil (written as null) or holding a value the hand-made path hands to
	// encoding/json.
	created := time.Date(2026, 12, 1, 11, 22, 33, 0, time.UTC)
	for name, ix := range map[string]wire.Interaction{
		"interaction, omitted fields empty": {ID: "i1", SessionID: "s1", State: "assigned", Online: true, UserData: map[string]any{"a": "1", "b": kv.Map{"c": "<d>"}}, CreatedAt: created},
		"interaction, nil user data":        {ID: "i2", CreatedAt: created, ClosedAt: created.Add(time.Second), AsyncStatus: -2, Async: true},
		"interaction, number in user data":  {ID: "i3", UserData: map[string]any{"n": 1.5}},
	} {
		f := wire.Frame{Type: wire.FrameResult, ID: "r1", Op: "accept", Interaction: &ix}
		check(name, &f)
	}
	if _, ok := appendFrame(nil, &wire.Frame{Type: wire.FrameResult, Interaction: &wire.Interaction{CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}); ok {
		t.Error("an interaction created in year 10000 was written by hand; encoding/json refuses it")
	}
	var every wire.Frame
	fillValue(t, reflect.ValueOf(&every).Elem())
	check("every field", &every)
}

// TestEncodeEventsFrame compares the frames a watcher sends for engine
// events of every kind.
func TestEncodeEventsFrame(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	from := chat.Party{UserID: "u1", Num: 2, Nick: "Ann <A&B>", Type: chat.Agent}
	evs := []chat.Event{
		{Pos: 0, Kind: chat.NewParty, Time: start, From: from, Visibility: chat.VisAll},
		{Pos: 1, Kind: chat.Message, Time: start.Add(1500 * time.Millisecond), From: from, Visibility: chat.VisInt,
			Text: "hello \u2028 \xff", MsgType: "text", TreatAs: "NORMAL", Attrs: kv.Map{"b": "1", "a": kv.Map{"x": "y"}}},
		{Pos: 2, Kind: chat.Notice, Notice: chat.TypingStarted, Time: start.Add(time.Hour), From: chat.Party{Nick: "bot", Bot: true, Type: chat.External},
			ReceiverID: "u9", UserData: kv.Map{"k": "v"}},
		{Pos: 3, Kind: chat.PartyLeft, Reason: chat.LeftDisconnect, Time: start.Add(2 * time.Hour), From: from, AskerID: "u3"},
	}
	f := wire.Frame{Type: wire.FrameEvents, SessionID: "s1", Replay: true, Next: 4, State: "alive"}
	for i := range evs {
		f.Events = append(f.Events, encodeEvent(&evs[i], start))
	}
	want, _ := json.Marshal(f)
	got, err := encodeFrame(nil, &f, true)
	if err != nil || string(got) != string(want) {
		t.Errorf("events frame:\n got %s (%v)\nwant %s", got, err, want)
	}
}

func BenchmarkEncodeEventsFrame(b *testing.B) {
	start := time.Now()
	ev := chat.Event{Pos: 5, Kind: chat.Message, Time: start, From: chat.Party{UserID: "u1", Num: 1, Nick: "Customer", Type: chat.Client},
		Visibility: chat.VisAll, Text: "Hello, I have a question about my last order and the delivery date.", MsgType: "text"}
	f := wire.Frame{Type: wire.FrameEvents, SessionID: "0123456789abcdef", Next: 6, State: "alive", Events: []wire.Event{encodeEvent(&ev, start)}}
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hand-made", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = encodeFrame(buf, &f, true)
		}
	})
}
