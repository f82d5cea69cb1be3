package history_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/history"
	"github.com/confab/confab/internal/kv"
)

// TestWriteFinalMatchesMarshal checks that the streamed final transcript
// is byte for byte what json.Marshal gives for the Transcript value, with
// and without events.
func TestWriteFinalMatchesMarshal(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, n := range []int{0, 1, 3} {
		f := &chat.Final{Info: chat.Info{ID: "S1", CreatedAt: start, ClosedAt: start.Add(time.Minute), Subject: "<order>",
			Participants: []chat.Participant{{UserID: "U1", Num: 1, Nick: "Ann", Type: chat.Client, JoinedAt: start}}}}
		for i := range n {
			f.Events = append(f.Events, chat.Event{Pos: i, Kind: chat.Message, Time: start.Add(time.Duration(i) * time.Second),
				From: chat.Party{UserID: "U1", Nick: "Ann", Type: chat.Client}, Text: "hi & <" + strings.Repeat("x", i),
				Attrs: kv.Map{"a": kv.Map{"b": "c"}}})
		}
		got, err := history.EncodeFinal(f)
		if err != nil {
			t.Fatal(err)
		}
		tr := history.Transcript{SessionID: "S1", StartAt: start.Format(time.RFC3339Nano), ClosedAt: start.Add(time.Minute).Format(time.RFC3339Nano),
			Subject: "<order>", Participants: []history.Party{{UserID: "U1", Num: 1, Nick: "Ann", UserType: "CLIENT", Visibility: "ALL", Protocol: chat.Participant{}.Protocol.String(), JoinedAt: start.UnixMilli()}},
			Events: []history.Event{}}
		for i := range f.Events {
			tr.Events = append(tr.Events, history.EncodeEvent(&f.Events[i], start))
		}
		want, _ := json.Marshal(tr)
		if !bytes.Equal(got, want) {
			t.Errorf("%d events:\n got %s\nwant %s", n, got, want)
		}
		var back history.Transcript
		if err := json.Unmarshal(got, &back); err != nil || len(back.Events) != n {
			t.Errorf("%d events: does not decode: %v", n, err)
		}
	}
}
