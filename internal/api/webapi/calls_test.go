package webapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/confab/confab/internal/api/webapi"
)

// TestCall: the operation layer answers as REST does, finds the chat by
// secureKey alone, and refuses a chatId or userId that does not match it.
func TestCall(t *testing.T) {
	h := startAPI(t, nil, nil, webapi.Options{})
	ctx := ctxT(t)
	r := h.api.Call(ctx, webapi.Call{Service: "customer-support", Operation: "requestChat", Fields: []webapi.Field{{"nickname", "Ann"}, {"userData", `{"orderId":"42"}`}}})
	if r.HTTPStatus != 200 || r.ChatID == "" || r.SecureKey == "" || r.Next != 2 || r.Events != 1 || r.From != 1 {
		t.Fatalf("requestChat %+v", r)
	}
	key := r.SecureKey
	for _, tc := range []struct {
		name   string
		call   webapi.Call
		status int
		want   string
	}{
		{"key only", webapi.Call{Operation: "send", Fields: []webapi.Field{{"secureKey", key}, {"message", "hi"}}}, 200, `"statusCode":0`},
		{"key and chat", webapi.Call{Operation: "refresh", ChatID: r.ChatID, Fields: []webapi.Field{{"secureKey", key}, {"transcriptPosition", "1"}}}, 200, `"index":2`},
		{"wrong chat", webapi.Call{Operation: "send", ChatID: "other", Fields: []webapi.Field{{"secureKey", key}, {"message", "hi"}}}, 200, `"code":401`},
		{"wrong user", webapi.Call{Operation: "send", Fields: []webapi.Field{{"secureKey", key}, {"userId", "X"}, {"message", "hi"}}}, 200, `"code":401`},
		{"wrong key", webapi.Call{Operation: "send", Fields: []webapi.Field{{"secureKey", "nope"}, {"message", "hi"}}}, 200, `"code":401`},
		{"validation", webapi.Call{Operation: "send", Fields: []webapi.Field{{"secureKey", key}}}, 400, `message: is required`},
		{"unknown op", webapi.Call{Operation: "file"}, 404, `"code":404`},
		{"too large", webapi.Call{Operation: "send", Fields: []webapi.Field{{"secureKey", key}, {"message", strings.Repeat("x", 40000)}}}, 413, `"code":204`},
		{"no long poll", webapi.Call{Operation: "refresh", Fields: []webapi.Field{{"secureKey", key}, {"transcriptPosition", "99"}, {"waitSeconds", "30"}}}, 200, `"messages":[]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := h.api.Call(context.Background(), tc.call)
			if got.HTTPStatus != tc.status || !strings.Contains(string(got.Body), tc.want) {
				t.Errorf("got %s, want HTTP %d with %s", got, tc.status, tc.want)
			}
		})
	}
	if s, _ := h.engine.Get(r.ChatID); s.Info().UserData.String("orderId") != "42" {
		t.Error("userData given as a JSON object was not attached")
	}
}
