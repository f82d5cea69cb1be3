package history

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestAppendFinalHeadMatchesMarshal compares appendFinalHead with
// json.Marshal: every optional field set and not, escapes, no and several
// participants.
func TestAppendFinalHeadMatchesMarshal(t *testing.T) {
	if !storedLayoutKnown() {
		t.Fatal("the stored layout changed: update appendFinalHead and knownFinalHeadFields/knownPartyFields")
	}
	full := Party{UserID: "U1", Num: 3, Nick: `A "b" <c> & é`, OriginalNick: "orig", UserType: "AGENT", Visibility: "INT",
		Bot: true, Protocol: "FLEX", PersonID: "p\u2028", JoinedAt: 1764633600123, LeftAt: 1764633700456}
	bare := Party{UserID: "U2", Nick: "", UserType: "CLIENT", Visibility: "ALL", Protocol: "", JoinedAt: -5}
	heads := []finalHead{
		{},
		{SessionID: "S1", StartAt: "2026-12-02T02:00:00.123456789Z", ClosedAt: "2026-12-02T02:01:00Z", Participants: []Party{}},
		{SessionID: "S<2>", StartAt: "a", ClosedAt: "b", Subject: "order & <x>", Language: "de", Async: true, Monitored: true,
			Participants: []Party{full, bare, full}},
		{SessionID: "S3", Language: "fr", Participants: []Party{bare}},
	}
	for _, h := range heads {
		want, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendFinalHead(nil, &h); !bytes.Equal(got, want) {
			t.Errorf("appendFinalHead\n got %s\nwant %s", got, want)
		}
	}
}
