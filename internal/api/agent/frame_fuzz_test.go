package agent

import (
	"encoding/json"
	"testing"

	wire "github.com/confab/confab/client/agent"
)

// FuzzDecodeRequest checks that no frame panics the decoder, that every
// refusal carries a known code, and that an accepted frame survives being
// encoded with the public Request type and decoded again.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"id":"1","op":"ping"}`,
		`{"id":"2","op":"send","sessionId":"S","text":"hi","visibility":"INT","eventAttributes":{"a":{"b":"c"}}}`,
		`{"id":"3","op":"join","sessionId":"S","userData":{"GCTI_Chat_SetPartyStyle":"BOT","n":1}}`,
		`{"id":"4","op":"send","txt":"x"}`, `[]`, `{"id":5}`, `{"id":"6","op":"notify","userData":"x"}`,
		`{"id":"7","op":"state","state":"not-ready","reason":"lunch"}`,
		`{"id":"8","op":"transfer","sessionId":"S","to":"queue:sales"}`,
		`{"id":"9","op":"history","sessionId":"S","limit":5,"after":"X"}`, `{"id":"10","op":"history","limit":"5"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, ferr := decodeRequest(data)
		if ferr != nil {
			if wire.ErrorNames[ferr.code] == "" || ferr.msg == "" {
				t.Fatalf("refusal without a known code or message: %+v", ferr)
			}
			return
		}
		if req.ID == "" || !knownOps[req.Op] || len(req.ID) > maxIDLen {
			t.Fatalf("accepted a frame without a valid id or op: %+v", req)
		}
		out := wire.Request{ID: req.ID, Op: req.Op, Queue: req.Queue, InteractionID: req.InteractionID,
			SessionID: req.SessionID, UserType: req.UserType, Visibility: req.Visibility, Nickname: req.Nickname,
			UserData: req.userData, Text: req.Text, MsgType: req.MsgType, TreatAs: req.TreatAs,
			ReceiverID: req.ReceiverID, NoticeType: req.NoticeType, EventAttributes: req.attrs, AfterAction: req.AfterAction,
			State: req.State, Reason: req.Reason, To: req.To, Workbin: req.Workbin, Limit: req.Limit, After: req.After}
		enc, err := json.Marshal(out)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, ferr := decodeRequest(enc)
		if ferr != nil {
			t.Fatalf("re-decode of %s: %v", enc, ferr)
		}
		if again.ID != req.ID || again.Op != req.Op || again.Text != req.Text || again.To != req.To || again.Limit != req.Limit || again.State != req.State || len(again.userData) != len(req.userData) || len(again.attrs) != len(req.attrs) {
			t.Fatalf("round trip changed the request: %+v -> %+v", req, again)
		}
	})
}
