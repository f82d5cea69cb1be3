package history_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/history"
)

// FuzzDecodeStored feeds arbitrary bytes to the decoder of stored
// intermediate events (the store is read back at restoration): it must
// never panic, and an event it accepts must encode and decode to itself.
func FuzzDecodeStored(f *testing.F) {
	for _, s := range []string{
		`{"pos":0,"eventId":1,"kind":"newParty","utcTime":1,"userId":"u","participantId":1,"userNick":"Ann","userType":"CLIENT","visibility":"ALL","session":{"tenant":"1","endpoint":"default","queue":"q","createdAt":"2026-12-01T10:00:00Z","secret":"k"}}`,
		`{"pos":3,"kind":"partyLeft","userType":"AGENT","visibility":"ALL","reason":8}`,
		`{"pos":2,"kind":"notice","noticeType":"SYS_COMMAND","text":"read-confirm","userType":"CLIENT","userData":{"last-event-id":"2"}}`,
		`{"pos":-1,"kind":"message"}`, `{"kind":"bogus"}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, _, err := history.DecodeStored(data)
		if err != nil {
			return
		}
		enc := history.EncodeEvent(&ev, ev.Time)
		b, err := json.Marshal(enc)
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := history.DecodeStored(b)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if again.Pos != ev.Pos || again.ClientMsgID != ev.ClientMsgID || again.Kind != ev.Kind || again.Text != ev.Text || again.From != ev.From ||
			!again.Time.Equal(ev.Time.Truncate(time.Millisecond)) || (ev.Kind == chat.PartyLeft && again.Reason != ev.Reason) {
			t.Fatalf("round trip changed the event: %+v -> %+v", ev, again)
		}
	})
}
