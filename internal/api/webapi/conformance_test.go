package webapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
)

// Conformance tests replay the request and answer examples of the
// reference (gms-chat-api-v2.md) and compare the answers field by field:
// the same fields, no others, the same JSON types and values. Only
// identifiers and times may differ; in the expected JSON "<id>" stands for
// any non-empty string and "<time>" for any positive number.

// sameJSON reports how got differs from want ("" when it does not).
func sameJSON(got any, want any, path string) string {
	switch w := want.(type) {
	case string:
		switch w {
		case "<id>":
			if s, ok := got.(string); !ok || s == "" {
				return fmt.Sprintf("%s: want a non-empty string, got %#v", path, got)
			}
			return ""
		case "<time>":
			if n, ok := got.(float64); !ok || n <= 0 {
				return fmt.Sprintf("%s: want a positive number, got %#v", path, got)
			}
			return ""
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: want an object, got %#v", path, got)
		}
		var keys []string
		for k := range w {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				return fmt.Sprintf("%s: unexpected field %q = %#v", path, k, g[k])
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s: missing field %q", path, k)
			}
			if d := sameJSON(gv, w[k], path+"."+k); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: want an array of %d, got %#v", path, len(w), got)
		}
		for i := range w {
			if d := sameJSON(g[i], w[i], fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
		return ""
	}
	if fmt.Sprintf("%T %v", got, got) != fmt.Sprintf("%T %v", want, want) {
		return fmt.Sprintf("%s: want %#v, got %#v", path, want, got)
	}
	return ""
}

func matchJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation: %v", err)
	}
	if d := sameJSON(g, w, "$"); d != "" {
		t.Errorf("answer differs from the reference example: %s\ngot:  %s", d, got)
	}
}

// TestConformanceRequestChat replays §5.1: request chat with first and last
// name and a subject, the documented answer plus chatEnded and nextPosition
// (which the reference says every answer carries).
func TestConformanceRequestChat(t *testing.T) {
	h := startNode(t, nil, nil)
	const want = `{
	  "statusCode": 0, "alias": "1", "userId": "<id>", "secureKey": "<id>", "chatId": "<id>",
	  "chatEnded": false, "nextPosition": 2,
	  "messages": [{"from": {"nickname": "First Last", "participantId": 1, "type": "Client"},
	                "index": 1, "type": "ParticipantJoined", "utcTime": "<time>"}]
	}`
	for _, tc := range []struct{ name, path, ctype, body string }{
		{"documented form", "/customer-support", formType, "firstName=First&lastName=Last&subject=Subject+to"},
		{"trailing slash", "/customer-support/", formType, "firstName=First&lastName=Last&subject=Subject+to"},
		{"multipart", "/customer-support", "", ""},
		{"widget fields", "/customer-support/", formType, "alias=&secureKey=&userId=&nickname=&firstName=First&lastName=Last&emailAddress=&subject=Subject+to&text=&endpoint=" +
			"&userData%5BGCTI_LanguageCode%5D=en&userData%5B_genesys_source%5D=web&userData%5B_genesys_url%5D=https%3A%2F%2Fshop.example%2F&unknownField=1"},
		{"quoted userData keys", "/customer-support", formType, `firstName=First&lastName=Last&userData["TimeZone"]=-480&userData[plain]=1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctype, body := tc.ctype, tc.body
			if tc.name == "multipart" {
				ctype, body = multipartBody(t, [][2]string{{"firstName", "First"}, {"lastName", "Last"}, {"subject", "Subject to"}, {"userData[TimeZone]", "-480"}})
			}
			status, got := h.post(tc.path, ctype, body)
			if status != http.StatusOK {
				t.Fatalf("HTTP %d: %s", status, got)
			}
			matchJSON(t, got, want)
			s, err := h.engine.Get(decode(t, got)["chatId"].(string))
			if err != nil {
				t.Fatal(err)
			}
			info := s.Info()
			if info.Subject != "Subject to" && tc.name != "quoted userData keys" {
				t.Errorf("subject = %q", info.Subject)
			}
			if info.UserData.String("FirstName") != "First" || info.UserData.String("LastName") != "Last" {
				t.Errorf("user data lacks FirstName/LastName: %v", info.UserData)
			}
			switch tc.name {
			case "widget fields":
				if info.UserData.String("GCTI_LanguageCode") != "en" || info.UserData.String("_genesys_url") != "https://shop.example/" {
					t.Errorf("percent-encoded userData lost: data %v", info.UserData)
				}
			case "quoted userData keys", "multipart":
				if info.UserData.String("TimeZone") != "-480" {
					t.Errorf("userData[TimeZone] lost: %v", info.UserData)
				}
			}
		})
	}
}

// TestConformanceRefresh replays the refresh answer of §6: an agent joined
// and greeted; refresh from index 2 returns those two events and
// nextPosition 4.
func TestConformanceRefresh(t *testing.T) {
	h := startNode(t, nil, nil)
	ctx := ctxT(t)
	c, s, agent := h.newChat(ctx, "Ann")
	rc, err := s.Send(agent.UserID, chat.Msg{Text: "Hello, how can I help?", Type: "text"})
	if err != nil {
		t.Fatal(err)
	}
	rc.Wait(ctx)
	status, got := h.post("/customer-support/"+c.ID+"/refresh", formType, creds(c)+"&transcriptPosition=2&message=")
	if status != http.StatusOK {
		t.Fatalf("HTTP %d: %s", status, got)
	}
	matchJSON(t, got, `{
	  "statusCode": 0, "alias": "1", "userId": "<id>", "secureKey": "<id>", "chatId": "<id>",
	  "chatEnded": false, "nextPosition": 4,
	  "messages": [
	    {"from": {"nickname": "Anna", "participantId": 2, "type": "Agent"},
	     "index": 2, "type": "ParticipantJoined", "utcTime": "<time>"},
	    {"from": {"nickname": "Anna", "participantId": 2, "type": "Agent"},
	     "index": 3, "type": "Message", "text": "Hello, how can I help?", "utcTime": "<time>"}
	  ]
	}`)
	m := decode(t, got)
	if m["userId"] != c.UserID || m["secureKey"] != c.SecureKey || m["chatId"] != c.ID {
		t.Errorf("identifiers are not the chat's: %v", m)
	}
}

// TestConformanceSend replays §5.2: the documented fields including
// messageType and a reply-to eventAttributes JSON string, with and without
// transcriptPosition.
func TestConformanceSend(t *testing.T) {
	h := startNode(t, nil, nil)
	ctx := ctxT(t)
	c, s, _ := h.newChat(ctx, "Ann")
	attrs := `{"general-properties":{"related-event-id":"2"}}`
	status, got := h.post("/customer-support/"+c.ID+"/send", formType,
		creds(c)+"&message=I+need+help+with+account&messageType=text&eventAttributes="+url.QueryEscape(attrs))
	if status != http.StatusOK {
		t.Fatalf("HTTP %d: %s", status, got)
	}
	matchJSON(t, got, `{"statusCode": 0, "alias": "1", "userId": "<id>", "secureKey": "<id>", "chatId": "<id>",
	  "chatEnded": false, "nextPosition": 4, "messages": []}`)
	status, got = h.post("/customer-support/"+c.ID+"/send", formType, creds(c)+"&message=second&messageType=text&transcriptPosition=3")
	if status != http.StatusOK {
		t.Fatalf("HTTP %d: %s", status, got)
	}
	matchJSON(t, got, `{"statusCode": 0, "alias": "1", "userId": "<id>", "secureKey": "<id>", "chatId": "<id>",
	  "chatEnded": false, "nextPosition": 5, "messages": [
	    {"from": {"nickname": "Ann", "participantId": 1, "type": "Client"}, "index": 3, "type": "Message",
	     "text": "I need help with account", "utcTime": "<time>",
	     "eventAttributes": {"general-properties": {"related-event-id": "2"}}},
	    {"from": {"nickname": "Ann", "participantId": 1, "type": "Client"}, "index": 4, "type": "Message",
	     "text": "second", "utcTime": "<time>"}]}`)
	evs, _, _ := s.ReadAll(2, nil)
	if evs[0].MsgType != "text" || !kv.Equal(evs[0].Attrs, kv.Map{"general-properties": kv.Map{"related-event-id": "2"}}) {
		t.Errorf("engine got %+v", evs[0])
	}
}

// TestConformanceErrors replays the HTTP 400 channel of §8: the body is
// exactly {"errors":[{"code":n,"advice":"..."}]} with the documented codes.
func TestConformanceErrors(t *testing.T) {
	h := startNode(t, nil, nil)
	long := strings.Repeat("x", 32768*45/100+1)
	for _, tc := range []struct {
		name, body string
		code       int
	}{
		{"no name at all", "subject=hi", 161},
		{"first name only", "firstName=First", 103},
		{"last name only", "lastName=Last", 102},
		{"invalid e-mail", "nickname=Ann&emailAddress=not-an-address", 364},
		{"nickname too long", "nickname=" + strings.Repeat("n", 257), 161},
		{"subject too long", "nickname=Ann&subject=" + strings.Repeat("s", 1025), 204},
		{"userData too large", "nickname=Ann&userData%5Bk%5D=" + long, 204},
		{"malformed userData key", "nickname=Ann&userData%5Bk=1", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, got := h.post("/customer-support", formType, tc.body)
			if status != http.StatusBadRequest {
				t.Fatalf("HTTP %d, want 400: %s", status, got)
			}
			matchJSON(t, got, fmt.Sprintf(`{"errors": [{"code": %d, "advice": "<id>"}]}`, tc.code))
		})
	}
	ctx := ctxT(t)
	c, _, _ := h.newChat(ctx, "Ann")
	status, got := h.post("/customer-support/"+c.ID+"/send", formType, creds(c)+"&message="+long)
	if status != http.StatusBadRequest {
		t.Fatalf("message too long: HTTP %d: %s", status, got)
	}
	matchJSON(t, got, `{"errors": [{"code": 204, "advice": "<id>"}]}`)
}

// TestConformanceFileLimits checks §9: the limits travel as strings in the
// userData of the answer's one event, with the keys the widget requires.
func TestConformanceFileLimits(t *testing.T) {
	h := startNode(t, nil, nil)
	ctx := ctxT(t)
	c, _, _ := h.newChat(ctx, "Ann")
	ctype, body := multipartBody(t, [][2]string{{"userId", c.UserID}, {"secureKey", c.SecureKey}, {"alias", c.Alias()}})
	status, got := h.post("/customer-support/"+c.ID+"/file/limits", ctype, body)
	if status != http.StatusOK {
		t.Fatalf("HTTP %d: %s", status, got)
	}
	matchJSON(t, got, `{"statusCode": 0, "alias": "1", "userId": "<id>", "secureKey": "<id>", "chatId": "<id>",
	  "chatEnded": false, "nextPosition": 3, "messages": [
	    {"from": {"nickname": "system", "participantId": 0, "type": "External"}, "index": 0, "type": "Notice",
	     "utcTime": "<time>", "userData": {
	       "upload-max-files": "3", "upload-max-file-size": "2097152", "upload-max-total-size": "5242880",
	       "upload-need-agent": "true", "upload-file-types": "gif:jpeg:jpg:pdf:png:txt", "used-upload-max-files": "0",
	       "used-upload-max-total-size": "0", "download-attempts": "5", "used-download-attempts": "0",
	       "delete-file": "true"}}]}`)
	ctype, body = multipartFile(t, [][2]string{{"userId", c.UserID}, {"secureKey", c.SecureKey}, {"alias", c.Alias()}}, "file", "a.txt", "hello")
	status, got = h.post("/customer-support/"+c.ID+"/file", ctype, body)
	if status != http.StatusOK {
		t.Fatalf("upload: HTTP %d: %s", status, got)
	}
	matchJSON(t, got, `{"statusCode": 0, "alias": "1", "userId": "<id>", "secureKey": "<id>", "chatId": "<id>",
	  "chatEnded": false, "messages": [], "userData": {"file-id": "<id>"}}`)
	status, got = h.post("/customer-support/"+c.ID+"/file/limits", ctype, body)
	if status != http.StatusOK || !strings.Contains(string(got), `"used-upload-max-files":"1","used-upload-max-total-size":"5"`) {
		t.Fatalf("limits after one upload: HTTP %d: %s", status, got)
	}
}

// TestConformanceFileTransferOff: with upload-max-files = 0 the limits say
// so and an upload is error 201 with advice 0, as the widget expects.
func TestConformanceFileTransferOff(t *testing.T) {
	h := startNode(t, configWith(t, "[client-file-transfer]\nupload-max-files = 0\n"), nil)
	ctx := ctxT(t)
	c, _, _ := h.newChat(ctx, "Ann")
	ctype, body := multipartFile(t, [][2]string{{"userId", c.UserID}, {"secureKey", c.SecureKey}, {"alias", c.Alias()}}, "file", "a.txt", "hello")
	status, got := h.post("/customer-support/"+c.ID+"/file", ctype, body)
	if status != http.StatusBadRequest {
		t.Fatalf("upload: HTTP %d: %s", status, got)
	}
	matchJSON(t, got, `{"errors": [{"code": 201, "advice": "0"}]}`)
}
