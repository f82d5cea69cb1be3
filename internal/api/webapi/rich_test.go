package webapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRichMessages: structured content passes through when well formed and
// is refused naming the field when its content is malformed JSON, its
// origin's type is missing or its fallback text is empty.
func TestRichMessages(t *testing.T) {
	h := startNode(t, nil, nil)
	ctx := ctxT(t)
	c, _, _ := h.newChat(ctx, "Ann")
	for _, tc := range []struct {
		msg, attrs string
		status     int
		field      string
	}{
		{"Pick one", `{"structured-content":{"genesys-chat":{"content":"{\"type\":\"QuickReplies\"}"}}}`, 200, ""},
		{"Pick one", `{"structured-content":{"genesys-chat":{"content":"{\"type\":"}}}`, 400, "eventAttributes.structured-content.genesys-chat.content"},
		{"Pay", `{"structured-content":{"applebc-session":{"content":"{}"}}}`, 400, "eventAttributes.structured-content.applebc-session.type"},
		{" ", `{"structured-content":{"genesys-chat":{"content":"{}"}}}`, 400, "message"},
		{"plain", `{"general-properties":{"related-event-id":"2"}}`, 200, ""},
	} {
		status, got := h.post("/customer-support/"+c.ID+"/send", formType,
			creds(c)+"&message="+url.QueryEscape(tc.msg)+"&eventAttributes="+url.QueryEscape(tc.attrs))
		if status != tc.status || (tc.field != "" && !strings.Contains(string(got), tc.field+":")) {
			t.Errorf("%s %s: HTTP %d %s, want %d naming %q", tc.msg, tc.attrs, status, got, tc.status, tc.field)
		}
		if tc.status == http.StatusOK && !strings.Contains(string(got), `"statusCode":0`) {
			t.Errorf("%s: %s", tc.attrs, got)
		}
	}
}
