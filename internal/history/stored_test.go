package history

import (
	"bytes"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/store"
)

func storedCases() []struct {
	name string
	ev   chat.Event
	h    *Header
} {
	t0 := time.Date(2026, 12, 1, 11, 0, 0, 123456789, time.UTC)
	from := chat.Party{UserID: "u1", Num: 3, Nick: `Ann "<A&B>"`, Type: chat.Agent, PersonID: "agent7"}
	return []struct {
		name string
		ev   chat.Event
		h    *Header
	}{
		{"first event with every header field", chat.Event{Pos: 0, Kind: chat.NewParty, Time: t0, From: from, Visibility: chat.VisAll},
			&Header{Tenant: "t", Endpoint: "e", Queue: "q", Subject: "s <x>", Language: "de", Async: true, Password: "pw",
				CreatedAt: t0.Format(time.RFC3339Nano), UserData: kv.Map{"b": "2", "a": kv.Map{"x": "y"}}, Secret: "k", Service: "svc"}},
		{"first event, sparse header", chat.Event{Pos: 0, Kind: chat.NewParty, Time: t0, From: chat.Party{Nick: "c", Type: chat.Client}},
			&Header{CreatedAt: t0.Format(time.RFC3339Nano)}},
		{"message", chat.Event{Pos: 5, Kind: chat.Message, Time: t0.Add(time.Second), From: from, Visibility: chat.VisInt,
			ReceiverID: "u2", Text: "hi\n\u2028 \xff é", MsgType: "text", TreatAs: "SYSTEM", ClientMsgID: "c-1",
			Attrs: kv.Map{"k": "v"}, UserData: kv.Map{"u": kv.Map{"v": "w"}}}, nil},
		{"bot notice", chat.Event{Pos: 6, Kind: chat.Notice, Notice: chat.TypingStarted, Time: t0, AskerID: "x",
			From: chat.Party{UserID: "b", Nick: "bot", Type: chat.External, Bot: true, PersonID: "not stored"}}, nil},
		{"left with reason 0", chat.Event{Pos: 7, Kind: chat.PartyLeft, Time: t0, From: from}, nil},
		{"left disconnected", chat.Event{Pos: 8, Kind: chat.PartyLeft, Reason: chat.LeftDisconnect, Time: t0, From: from, AskerID: "u9"}, nil},
		{"before 1970", chat.Event{Pos: 9, Kind: chat.Message, Time: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), From: from, Text: "old"}, nil},
	}
}

// TestAppendStoredMatchesEncodingJSON: the hand-made intermediate form is
// byte for byte what encoding/json writes for a storedEvent, and it
// decodes to the same event.
func TestAppendStoredMatchesEncodingJSON(t *testing.T) {
	if !storedLayoutKnown() {
		t.Fatal("history.Event or Header gained a field appendStored does not write: teach it (and knownEventFields/knownHeaderFields); until then every event goes through encoding/json")
	}
	j := &Journal{fastEncode: true}
	for _, c := range storedCases() {
		want, err := encodeStored(&c.ev, c.h)
		if err != nil {
			t.Fatal(err)
		}
		got, err := j.encodeStored(&c.ev, c.h)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s (%v)\nwant %s", c.name, got, err, want)
			continue
		}
		if _, _, err := DecodeStored(got); err != nil {
			t.Errorf("%s: decode: %v", c.name, err)
		}
	}
}

func FuzzAppendStored(f *testing.F) {
	f.Add("hello", "Ann", "k", "v", 3, false)
	f.Add("\xff<\u2028>", "", "", "", 0, true)
	f.Fuzz(func(t *testing.T, text, nick, key, val string, pos int, bot bool) {
		if pos < 0 {
			pos = -pos
		}
		ev := chat.Event{Pos: pos, Kind: chat.Message, Time: time.UnixMilli(int64(pos) * 7919).UTC(), Text: text,
			From: chat.Party{UserID: key, Nick: nick, Type: chat.Client, Bot: bot}, ClientMsgID: val}
		if key != "" {
			ev.Attrs = kv.Map{key: val, "n": kv.Map{val: key}}
		}
		want, err := encodeStored(&ev, nil)
		if err != nil {
			t.Skip()
		}
		got, err := (&Journal{fastEncode: true}).encodeStored(&ev, nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("got %s (%v)\nwant %s", got, err, want)
		}
	})
}

func BenchmarkEncodeStored(b *testing.B) {
	ev := chat.Event{Pos: 41, Kind: chat.Message, Time: time.Now(), Visibility: chat.VisAll,
		From: chat.Party{UserID: "0001", Num: 1, Nick: "Customer", Type: chat.Client},
		Text: "Hello, I have a question about my last order and the delivery date. t1_1764587000000000000", MsgType: "text", ClientMsgID: "b12-41"}
	for _, c := range []struct {
		name string
		fast bool
	}{{"encoding-json", false}, {"hand-made", true}} {
		j := &Journal{fastEncode: c.fast}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := j.encodeStored(&ev, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDeferredEventMatchesEncodeStored: the row the store's writer encodes
// (deferred.go) holds the bytes encodeStored gives at the moment of
// EventAppended, on both encoders, and keeps them when the engine changes
// its own copy afterwards (a read confirmation superseded, a reused event).
func TestDeferredEventMatchesEncodeStored(t *testing.T) {
	for _, fast := range []bool{false, true} {
		j := &Journal{fastEncode: fast}
		for _, c := range storedCases() {
			want, err := encodeStored(&c.ev, c.h)
			if err != nil {
				t.Fatal(err)
			}
			d := j.deferEvent(&c.ev, c.h)
			c.ev.Superseded, c.ev.Text, c.ev.Pos = true, "changed after EventAppended", c.ev.Pos+100
			for try := 0; try < 2; try++ { // a retried write encodes again: the same bytes
				got, err := d.EncodeEvent()
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("fast=%v %s, encoding %d:\n got %s (%v)\nwant %s", fast, c.name, try, got, err, want)
				}
				// The writer's form: appended after what its buffer holds.
				prefix := []byte("earlier event")
				buf, err := d.AppendEvent(append(make([]byte, 0, 8), prefix...))
				if err != nil || !bytes.Equal(buf, append(prefix, want...)) {
					t.Errorf("fast=%v %s, AppendEvent %d:\n got %s (%v)\nwant %s%s", fast, c.name, try, buf, err, prefix, want)
				}
			}
		}
	}
}

// BenchmarkEventUnderLock is the intermediate event's cost inside
// EventAppended, with the session's lock held: encoding it there (before)
// or copying it for the store's writer to encode (after, deferred.go;
// "writer" is the encoding the writer then does off the lock).
func BenchmarkEventUnderLock(b *testing.B) {
	ev := chat.Event{Pos: 41, Kind: chat.Message, Time: time.Now(), Visibility: chat.VisAll,
		From: chat.Party{UserID: "0001", Num: 1, Nick: "Customer", Type: chat.Client},
		Text: "Hello, I have a question about my last order and the delivery date. t1_1764587000000000000", MsgType: "text", ClientMsgID: "b12-41"}
	j := &Journal{fastEncode: true}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := j.encodeStored(&ev, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("defer", func(b *testing.B) {
		rows := make([]store.EventRow, 1) // the copy escapes, as into the store's queue
		b.ReportAllocs()
		for b.Loop() {
			rows[0].Encoder = j.deferEvent(&ev, nil)
		}
	})
	b.Run("writer", func(b *testing.B) {
		d := j.deferEvent(&ev, nil)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.EncodeEvent(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
