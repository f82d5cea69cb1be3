package chat

import (
	"reflect"
	"testing"
	"time"

	"github.com/confab/confab/internal/kv"
)

// TestTranscriptGrowth checks that every event stays reachable at its
// position as the transcript grows, and that the first block grows by
// doubling (8, 16, 32) rather than straight to a whole block, which a
// short session would hold mostly empty.
func TestTranscriptGrowth(t *testing.T) {
	for _, tc := range []struct {
		n         int
		firstCap  int
		numBlocks int
	}{
		{1, 8, 1},
		{8, 8, 1},
		{9, 16, 1},
		{16, 16, 1},
		{17, 32, 1},
		{32, 32, 1},
		{33, 32, 2},
		{100, 32, 4},
	} {
		var tr transcript
		for i := 0; i < tc.n; i++ {
			tr.add(&Event{Pos: i, Text: "m" + string(rune('a'+i%26))})
		}
		if tr.len() != tc.n {
			t.Errorf("n=%d: len %d", tc.n, tr.len())
		}
		for i := 0; i < tc.n; i++ {
			if got := tr.event(i); got.Pos != i || got.Text != "m"+string(rune('a'+i%26)) {
				t.Errorf("n=%d: event(%d) = pos %d text %q", tc.n, i, got.Pos, got.Text)
			}
		}
		if got := cap(tr.blocks[0]); got != tc.firstCap {
			t.Errorf("n=%d: first block's capacity %d, want %d", tc.n, got, tc.firstCap)
		}
		if got := len(tr.blocks); got != tc.numBlocks {
			t.Errorf("n=%d: %d blocks, want %d", tc.n, got, tc.numBlocks)
		}
	}
}

// TestTranscriptRoundTrip checks that the compact stored form gives back
// every field of an event: each exported field set to a distinct value
// (by reflection, so a field added to Event later and forgotten in
// entry/extra fails here), plus the unexported pii record.
func TestTranscriptRoundTrip(t *testing.T) {
	var full Event
	v := reflect.ValueOf(&full).Elem()
	for i := 0; i < v.NumField(); i++ {
		f, sf := v.Field(i), v.Type().Field(i)
		if !sf.IsExported() {
			continue
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString(sf.Name + "-value")
		case reflect.Int:
			f.SetInt(int64(i + 1))
		case reflect.Uint8:
			f.SetUint(uint64(i + 1))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Map:
			f.Set(reflect.ValueOf(kv.Map{sf.Name: "v"}))
		case reflect.Struct:
			switch sf.Name {
			case "Time":
				f.Set(reflect.ValueOf(time.Date(2026, 12, 1, 23, 0, 0, 5, time.UTC)))
			case "From":
				f.Set(reflect.ValueOf(Party{UserID: "u", Num: 2, Nick: "n", Type: Agent, Bot: true, PersonID: "p"}))
			default:
				t.Fatalf("Event.%s: a struct field the test does not know", sf.Name)
			}
		default:
			t.Fatalf("Event.%s: a %s field the test does not know", sf.Name, f.Kind())
		}
	}
	full.Pos = 0
	full.pii = &maskRecord{masked: "***"}
	plain := Event{Pos: 1, Kind: Message, Text: "hi", From: full.From}
	var tr transcript
	tr.add(&full)
	tr.add(&plain)
	if got := tr.event(0); !reflect.DeepEqual(got, full) {
		t.Errorf("full event:\n got %+v\nwant %+v", got, full)
	}
	if got := tr.event(1); !reflect.DeepEqual(got, plain) {
		t.Errorf("plain event:\n got %+v\nwant %+v", got, plain)
	}
	if tr.entryAt(1).more != nil {
		t.Error("an event with only common fields got an extra record")
	}
	if tr.entryAt(0).from != tr.entryAt(1).from {
		t.Error("two consecutive events of the same party do not share it")
	}
	tr.supersede(1)
	if !tr.superseded(1) || !tr.event(1).Superseded || tr.superseded(0) != full.Superseded {
		t.Error("supersede did not mark exactly the event asked")
	}
	if got := tr.appendLive(nil); len(got) != 0 { // full has Superseded set too
		t.Errorf("appendLive kept %d superseded events", len(got))
	}
}

// TestTranscriptTextType: the "text" message type (every agent message
// carries it) is kept without an extra record and read back, alone and
// with another field that needs one; other types keep theirs.
func TestTranscriptTextType(t *testing.T) {
	from := Party{UserID: "a", Num: 2, Nick: "Anna", Type: Agent}
	evs := []Event{
		{Pos: 0, Kind: Message, Text: "hi", From: from, MsgType: "text"},
		{Pos: 1, Kind: Message, Text: "to you", From: from, MsgType: "text", ReceiverID: "c"},
		{Pos: 2, Kind: Message, Text: "card", From: from, MsgType: "card"},
		{Pos: 3, Kind: Message, Text: "none", From: from},
	}
	var tr transcript
	for i := range evs {
		tr.add(&evs[i])
	}
	for i, want := range evs {
		if got := tr.event(i); !reflect.DeepEqual(got, want) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	for i, wantExtra := range []bool{false, true, true, false} {
		if got := tr.entryAt(i).more != nil; got != wantExtra {
			t.Errorf("event %d: extra record %v, want %v", i, got, wantExtra)
		}
	}
}

// TestTranscriptPartyChange checks that an event of a party whose
// nickname changed gets its own party record, and the earlier events keep
// theirs (an event shows the party as it was).
func TestTranscriptPartyChange(t *testing.T) {
	var tr transcript
	tr.add(&Event{Pos: 0, From: Party{UserID: "c", Nick: "old"}})
	tr.add(&Event{Pos: 1, From: Party{UserID: "c", Nick: "new"}})
	if a, b := tr.event(0).From.Nick, tr.event(1).From.Nick; a != "old" || b != "new" {
		t.Errorf("nicks %q, %q; want old, new", a, b)
	}
}

// BenchmarkTranscriptAdd reports the bytes and objects a dense-like
// session's transcript holds: 16 events between a customer, an agent and
// the system.
func BenchmarkTranscriptAdd(b *testing.B) {
	parties := []Party{{UserID: "c", Nick: "cust", Type: Client}, {UserID: "a", Nick: "agent", Type: Agent, PersonID: "p"}, {Nick: "system", Type: System}}
	b.ReportAllocs()
	for b.Loop() {
		var tr transcript
		for i := 0; i < 16; i++ {
			tr.add(&Event{Pos: i, Kind: Message, From: parties[i%3], Text: "hello there", ClientMsgID: "id"})
		}
	}
}
