package chatv2

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// TestNewPost checks that a call's request, built from the base parsed
// once, is the one http.NewRequestWithContext builds.
func TestNewPost(t *testing.T) {
	ctx := context.WithValue(context.Background(), struct{}{}, 1)
	for _, base := range []string{"http://127.0.0.1:8080/genesys/2/chat", "http://h/genesys/2/chat/", "http://user:pw@h:/x", "http://h/a%20b", "http://h/x?q=1"} {
		c := New(base, Options{APIKey: "k"})
		for _, path := range []string{"/svc/ID1/send", "/customer%20support/ID/refresh", "/s/a?b/send", ""} {
			for _, body := range []string{"message=hi&userId=U", ""} {
				u := c.bases[0] + path
				got, err := c.newPost(ctx, 0, path, body)
				if err != nil {
					t.Fatalf("%s%s: %v", base, path, err)
				}
				want, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if got.Method != want.Method || got.URL.String() != want.URL.String() || got.URL.RequestURI() != want.URL.RequestURI() ||
					got.Host != want.Host || got.ContentLength != want.ContentLength || got.Context() != ctx ||
					got.Proto != want.Proto || !reflect.DeepEqual(got.URL.User, want.URL.User) || !reflect.DeepEqual(got.Header, c.header) {
					t.Errorf("%s + %s:\n got %s %s host %q len %d\nwant %s %s host %q len %d", base, path,
						got.Method, got.URL, got.Host, got.ContentLength, want.Method, want.URL, want.Host, want.ContentLength)
				}
				for _, r := range []*http.Request{got, want} {
					b, _ := io.ReadAll(r.Body)
					gb, _ := r.GetBody()
					b2, _ := io.ReadAll(gb)
					if string(b) != body || string(b2) != body {
						t.Errorf("%s + %s: body %q, again %q, want %q", base, path, b, b2, body)
					}
				}
			}
		}
	}
}

// TestCallRedirected checks that a call the server redirects (307) is
// made again through the http.Client, which follows it with the body, and
// that a plain call reaches the server once.
func TestCallRedirected(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		seen = append(seen, r.URL.Path+"?"+r.PostForm.Get("message"))
		mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/old/") {
			http.Redirect(w, r, "/new"+strings.TrimPrefix(r.URL.Path, "/old"), http.StatusTemporaryRedirect)
			return
		}
		io.WriteString(w, `{"statusCode":0,"chatEnded":false,"messages":[]}`)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		base string
		want []string
	}{
		{srv.URL + "/new", []string{"/new/svc/C1/send?hi"}},
		{srv.URL + "/old", []string{"/old/svc/C1/send?hi", "/old/svc/C1/send?hi", "/new/svc/C1/send?hi"}},
	} {
		mu.Lock()
		seen = nil
		mu.Unlock()
		ch := New(tc.base, Options{}).Resume("svc", "C1", "U1", "K1", "")
		if _, err := ch.Send(context.Background(), "hi", nil); err != nil {
			t.Fatalf("%s: %v", tc.base, err)
		}
		mu.Lock()
		if strings.Join(seen, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: the server saw %q, want %q", tc.base, seen, tc.want)
		}
		mu.Unlock()
	}
}
