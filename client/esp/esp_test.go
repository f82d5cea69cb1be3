package esp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/confab/confab/client/internal/jsonscan"
)

// Replies as Confab's workflow API writes them (internal/api/esp), and
// inputs the fast path must leave to encoding/json.
var (
	fastReplies = []string{
		`{"OccuredAt":"2026-12-02T14:00:00.123Z","ScriptPos":3}`,
		`{"OccuredAt":"2026-12-02T14:00:00.123Z"}`,
		`{"OccuredAt":"2026-12-02T14:00:00.123Z","IsClosed":1}`,
		`{"OccuredAt":"2026-12-02T14:00:00.123Z","SessionInfo":{"CreatedAt":"2026-12-02T13:00:00.000Z","IsRestored":0}}`,
		` {"ScriptPos":null,"x":[1,{"a":"b"}],"OccuredAt":"\u00e9"} `,
	}
	slowReplies = []string{
		`{"occuredAt":"x"}`,             // matches OccuredAt only case-insensitively
		`{"ScriptPos":1,"ScriptPos":2}`, // a duplicate key
		`{"ScriptPos":1.5}`,             // not an integer: encoding/json refuses it
		`{"ScriptPos":99999999999999999999}`,
		`{"SessionInfo":{"IsRestored":"1"}}`, // encoding/json refuses it
		`{"OccuredAt":"x"} x`,
		`[]`, `null`, ``,
	}
)

// decodeBothReply decodes data with decodeReply and with encoding/json and
// fails t when they disagree, or when the fast path alone accepts what
// encoding/json refuses or decodes it otherwise.
func decodeBothReply(t *testing.T, data []byte) {
	t.Helper()
	var got, want Reply
	gerr := decodeReply(data, &got)
	werr := json.Unmarshal(data, &want)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("%q: error %v, encoding/json %v", data, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", data, got, want)
	}
	var sc jsonscan.Scanner
	sc.Reset(data)
	var fast Reply
	if scanReply(&sc, &fast) && sc.End() {
		if werr != nil {
			t.Fatalf("%q: the fast path accepted what encoding/json refuses: %v", data, werr)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("%q: fast path\n got %#v\nwant %#v", data, fast, want)
		}
	}
}

func TestDecodeReply(t *testing.T) {
	for _, in := range append(append([]string{}, fastReplies...), slowReplies...) {
		decodeBothReply(t, []byte(in))
	}
}

// TestDecodeReplyFastPath pins which replies take the fast path.
func TestDecodeReplyFastPath(t *testing.T) {
	for i, in := range append(append([]string{}, fastReplies...), slowReplies...) {
		var sc jsonscan.Scanner
		sc.ResetString(in)
		var r Reply
		want := i < len(fastReplies)
		if got := scanReply(&sc, &r) && sc.End(); got != want {
			t.Errorf("%s: fast path %v, want %v", in, got, want)
		}
	}
}

func TestKeyIndex(t *testing.T) {
	for i, n := range replyKeys {
		if got := replyIndex(n); got != i {
			t.Errorf("replyIndex(%q) = %d, want %d", n, got, i)
		}
	}
	if got := replyIndex("nope"); got != len(replyKeys) {
		t.Errorf("replyIndex(unknown) = %d, want %d", got, len(replyKeys))
	}
}

// FuzzDecodeReply checks decodeReply against encoding/json on any input.
func FuzzDecodeReply(f *testing.F) {
	for _, in := range append(append([]string{}, fastReplies...), slowReplies...) {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) { decodeBothReply(t, data) })
}

// TestCallDirect: a call straight to the Transport sends the method, body
// and headers as before and returns the reply and faults; a redirect is
// followed by the Client (the call made again); a connection failure is a
// *url.Error, as the Client's.
func TestCallDirect(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+r.Header.Get("Content-Type")+" "+string(body))
		mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/old/"):
			http.Redirect(w, r, "/new"+strings.TrimPrefix(r.URL.Path, "/old"), http.StatusTemporaryRedirect)
		case strings.HasSuffix(r.URL.Path, "/CloseSession"):
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"FaultCode":7,"FaultString":"no such session","Parameter":"InteractionId"}`)
		default:
			io.WriteString(w, `{"OccuredAt":"2026-12-02T14:00:00.123Z","ScriptPos":4}`)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	const sent = `POST /new/esp/Chat/Message Bearer tok application/json {"InteractionId":"s1","MessageText":"hi"}`
	for _, tc := range []struct {
		base string
		want []string
	}{
		{srv.URL + "/new", []string{sent}},
		{srv.URL + "/old", []string{strings.Replace(sent, "/new/", "/old/", 1), strings.Replace(sent, "/new/", "/old/", 1), sent}},
	} {
		mu.Lock()
		seen = nil
		mu.Unlock()
		r, err := New(tc.base, "tok", nil).Message(ctx, "s1", "hi", nil)
		if err != nil || r.ScriptPos == nil || *r.ScriptPos != 4 || r.OccuredAt != "2026-12-02T14:00:00.123Z" {
			t.Fatalf("%s: %+v, %v", tc.base, r, err)
		}
		mu.Lock()
		if strings.Join(seen, " | ") != strings.Join(tc.want, " | ") {
			t.Errorf("%s: the server saw %q, want %q", tc.base, seen, tc.want)
		}
		mu.Unlock()
	}
	_, err := New(srv.URL, "tok", nil).CloseSession(ctx, "s1", true, false)
	var f *Fault
	if !errors.As(err, &f) || f.Status != http.StatusNotFound || f.FaultCode != FaultUnknownInteraction || f.Parameter != "InteractionId" {
		t.Errorf("CloseSession: %v, want fault 7 with HTTP 404", err)
	}
	srv.Close()
	_, err = New(srv.URL, "tok", nil).Message(ctx, "s1", "hi", nil)
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Errorf("a call to a closed server: %T %v, want a *url.Error", err, err)
	}
}

// BenchmarkDecodeReply: a Message reply, with encoding/json and with
// decodeReply.
func BenchmarkDecodeReply(b *testing.B) {
	data := []byte(fastReplies[0])
	for _, tc := range []struct {
		name string
		dec  func(*Reply) error
	}{
		{"encoding-json", func(r *Reply) error { return json.Unmarshal(data, r) }},
		{"scanner", func(r *Reply) error { return decodeReply(data, r) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var r Reply
				if err := tc.dec(&r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
