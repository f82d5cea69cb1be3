package history

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/store"
)

// FuzzFinalFromStored: for any event, its final form composed from its
// stored bytes (what the store does: store.AppendFinalEvent with the
// timeShift finalEvents computes) is the final form encoded from memory
// (appendFinal) and the bytes encoding/json gives (EncodeEvent); a
// userId, text, nick or attribute holding `,"userId":` does not move the
// timeShift.
func FuzzFinalFromStored(f *testing.F) {
	f.Add("hello", "Ann", "k", "v", 3, int64(2500), false)
	f.Add(`a,"userId":b`, `,"userId":`, `,"userId":`, "\xff<\u2028>", 0, int64(-4000), true)
	f.Fuzz(func(t *testing.T, text, nick, key, val string, pos int, shiftMs int64, bot bool) {
		if pos < 0 {
			pos = -pos
		}
		start := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
		ev := chat.Event{Pos: pos, Kind: chat.EventKind(pos % 4), Time: start.Add(time.Duration(shiftMs%1e9) * time.Millisecond), Text: text,
			From: chat.Party{UserID: key, Nick: nick, Type: chat.Client, Bot: bot}, ClientMsgID: val, ReceiverID: nick}
		if key != "" {
			ev.Attrs = kv.Map{key: val, "n": kv.Map{val: key}}
			ev.UserData = kv.Map{val: text}
		}
		stored, ok := appendStored(nil, &ev, nil)
		if !ok {
			t.Skip()
		}
		want, ok := appendFinal(nil, &ev, start)
		if !ok {
			t.Fatalf("appendFinal refused what appendStored wrote: %s", stored)
		}
		if js, err := json.Marshal(EncodeEvent(&ev, start)); err == nil && !bytes.Equal(js, want) {
			t.Fatalf("appendFinal %s\nencoding/json %s", want, js)
		}
		fe := finalEvents(&chat.Final{Info: chat.Info{ID: "S", CreatedAt: start, ClosedAt: start}, Events: []chat.Event{{Pos: 0, Kind: chat.NewParty, Time: start}, ev}})
		if fe == nil {
			t.Fatal("no FinalEvents")
		}
		part := fe.Events[1]
		if ev.Pos == 0 {
			if part.Pos != -1 || !bytes.Equal(part.Literal, want) {
				t.Fatalf("position 0: %+v", part)
			}
			return
		}
		got, ok := store.AppendFinalEvent(nil, stored, part.Shift)
		if !ok || !bytes.Equal(got, want) {
			t.Fatalf("from the stored bytes %s (%v)\nfrom memory %s", got, ok, want)
		}
	})
}
