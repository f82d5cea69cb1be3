package chatv2

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"strings"
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
				got, err := c.newPost(ctx, 0, path, u, body)
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
