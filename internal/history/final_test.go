package history

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
)

// TestAppendFinalMatchesEncodingJSON: the hand-made final form of events of
// every kind, with time shifts of 0, positive and negative, is what
// encoding/json gives for EncodeEvent's value; the whole transcript is the
// same on both paths; an event only encoding/json can refuse leaves dst
// as it was.
func TestAppendFinalMatchesEncodingJSON(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	from := chat.Party{UserID: "U1", Num: 2, Nick: `Ann "<A&B>"`, Type: chat.Agent, PersonID: "ann"}
	evs := []chat.Event{
		{Pos: 0, Kind: chat.NewParty, Time: start, From: from, Visibility: chat.VisAll},
		{Pos: 1, Kind: chat.Message, Time: start.Add(1500 * time.Millisecond), From: from, Visibility: chat.VisInt,
			Text: "hi \u2028 \xff", MsgType: "text", TreatAs: "NORMAL", Attrs: kv.Map{"a": kv.Map{"b": "c"}, "n": 1.5}, ClientMsgID: "c1"},
		{Pos: 2, Kind: chat.Notice, Notice: chat.TypingStarted, Time: start.Add(time.Hour), From: chat.Party{Nick: "bot", Bot: true, Type: chat.External},
			ReceiverID: "U9", UserData: kv.Map{"k": "v"}},
		{Pos: 3, Kind: chat.PartyLeft, Reason: chat.LeftDisconnect, Time: start.Add(-3 * time.Second), From: from, AskerID: "U3"},
	}
	for i := range evs {
		want, err := json.Marshal(EncodeEvent(&evs[i], start))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendFinal([]byte("x"), &evs[i], start)
		if !ok || string(got) != "x"+string(want) {
			t.Errorf("event %d (ok %v):\n got %s\nwant x%s", i, ok, got, want)
		}
	}
	bad := chat.Event{Kind: chat.Message, Time: start.Add(2 * time.Second), Attrs: kv.Map{"f": func() {}}}
	if got, ok := appendFinal([]byte("x"), &bad, start); ok || string(got) != "x" {
		t.Errorf("an attribute encoding/json refuses: %q, %v", got, ok)
	}
	f := &chat.Final{Info: chat.Info{ID: "S1", CreatedAt: start, ClosedAt: start.Add(time.Hour)}, Events: evs}
	var fast, slow bytes.Buffer
	if err := writeFinal(&fast, f, true); err != nil {
		t.Fatal(err)
	}
	if err := writeFinal(&slow, f, false); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fast.Bytes(), slow.Bytes()) {
		t.Errorf("transcript:\n hand-made %s\nencoding/json %s", fast.Bytes(), slow.Bytes())
	}
}

func BenchmarkWriteFinal(b *testing.B) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	f := &chat.Final{Info: chat.Info{ID: "S1", CreatedAt: start, ClosedAt: start.Add(time.Minute)}}
	from := chat.Party{UserID: "0123456789ABCDEF", Num: 1, Nick: "Customer", Type: chat.Client}
	for i := range 12 {
		f.Events = append(f.Events, chat.Event{Pos: i, Kind: chat.Message, Time: start.Add(time.Duration(i) * 3 * time.Second),
			From: from, Visibility: chat.VisAll, Text: "Hello, I have a question about my last order.", MsgType: "text"})
	}
	for _, fast := range []bool{false, true} {
		name := map[bool]string{false: "encoding-json", true: "hand-made"}[fast]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := writeFinal(&buf, f, fast); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
