package agent

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestEncodeRequest compares encodeRequest with json.Marshal, on requests
// the hand-made path writes and on ones it leaves to encoding/json.
func TestEncodeRequest(t *testing.T) {
	for _, req := range []Request{
		{ID: "c1", Op: OpSend, SessionID: "s1", Text: "cfb:1:2:_3 Hello, I have a question.", MsgType: "text", Visibility: "ALL"},
		{ID: "c2", Op: OpAccept, InteractionID: "i1"},
		{Op: OpPing},
		{ID: "c3", Op: OpRelease, SessionID: "s", AfterAction: "CLOSE_IF_NO_AGENTS", Text: "bye"},
		{ID: "c4", Op: OpHistory, Limit: 20, After: "x", UserID: "u"},
		{ID: "c5", Op: "state", State: "ready", Reason: "r", To: "queue:q", Workbin: "w", Queue: "q",
			UserType: "AGENT", Nickname: "n", TreatAs: "NORMAL", ReceiverID: "r1", NoticeType: "USER_CUSTOM"},
		{ID: "c6", Op: OpSend, SessionID: "s", Text: "a <b> & \"c\" \\ \n é \u2028 \xff"},
		{ID: "c7", Op: OpNotify, SessionID: "s", UserData: map[string]any{"k": "v"}},
		{ID: "c8", Op: OpSend, SessionID: "s", EventAttributes: map[string]any{"a": map[string]any{"b": "c"}}},
		{ID: "c9", Op: OpSend, After: "<", UserID: "u"},
	} {
		got, err := encodeRequest(&req)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(req)
		if !bytes.Equal(got, want) {
			t.Errorf("encodeRequest:\n got %s\nwant %s", got, want)
		}
	}
}

func TestEncodeSendAllocs(t *testing.T) {
	req := Request{ID: "c1", Op: OpSend, SessionID: "s1", Text: "cfb:1:2:_3 Hello", MsgType: "text", Visibility: "ALL"}
	if n := testing.AllocsPerRun(100, func() { encodeRequest(&req) }); n > 1 {
		t.Errorf("encoding a send allocates %.0f times, want 1", n)
	}
}
