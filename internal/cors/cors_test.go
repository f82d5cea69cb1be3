package cors_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/confab/confab/internal/cors"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{"", nil, false},
		{"https://shop.example.com", []string{"https://shop.example.com"}, false},
		{"https://A.example.com/, http://*.example.org:8080  http://127.0.0.1:3000", []string{"https://a.example.com", "http://*.example.org:8080", "http://127.0.0.1:3000"}, false},
		{"shop.example.com", nil, true},
		{"https://*", nil, true},
		{"*", nil, true},
		{"https://a.*.example.com", nil, true},
		{"https://example.com/path", nil, true},
		{"javascript://x", nil, true},
	} {
		got, err := cors.Split(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("Split(%q) error %v, want bad=%v", tc.in, err, tc.bad)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("Split(%q) = %q, want %q", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("Split(%q)[%d] = %q, want %q", tc.in, i, got[i], tc.want[i])
			}
		}
	}
}

func TestAllowed(t *testing.T) {
	entries, err := cors.Split("https://shop.example.com, https://*.example.org, http://127.0.0.1:3000")
	if err != nil {
		t.Fatal(err)
	}
	p := cors.New(entries)
	for _, tc := range []struct {
		origin string
		want   bool
	}{
		{"https://shop.example.com", true},
		{"HTTPS://SHOP.EXAMPLE.COM", true},
		{"http://shop.example.com", false},
		{"https://shop.example.com:8443", false},
		{"https://evil.example.com", false},
		{"https://a.example.org", true},
		{"https://a.b.example.org", true},
		{"https://example.org", false},
		{"https://a.example.org.evil.com", false},
		{"https://evil.com/.example.org", false},
		{"http://127.0.0.1:3000", true},
		{"http://127.0.0.1:3001", false},
		{"null", false},
		{"", false},
	} {
		if got := p.Allowed(tc.origin); got != tc.want {
			t.Errorf("Allowed(%q) = %v, want %v", tc.origin, got, tc.want)
		}
	}
}

func TestApply(t *testing.T) {
	closed := cors.New([]string{"https://shop.example.com"})
	for _, tc := range []struct {
		name        string
		p           *cors.Policy
		origin      string
		allow, cred string
	}{
		{"open, no origin", cors.New(nil), "", "*", ""},
		{"open, origin", cors.New(nil), "https://x.test", "https://x.test", ""},
		{"allowed", closed, "https://shop.example.com", "https://shop.example.com", "true"},
		{"refused", closed, "https://x.test", "", ""},
		{"no origin, closed", closed, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodOptions, "/genesys/cometd", nil)
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			w := httptest.NewRecorder()
			tc.p.Preflight(w, r)
			if w.Code != http.StatusNoContent {
				t.Errorf("status %d", w.Code)
			}
			h := w.Header()
			if got := h.Get("Access-Control-Allow-Origin"); got != tc.allow {
				t.Errorf("Allow-Origin %q, want %q", got, tc.allow)
			}
			if got := h.Get("Access-Control-Allow-Credentials"); got != tc.cred {
				t.Errorf("Allow-Credentials %q, want %q", got, tc.cred)
			}
			if h.Get("Access-Control-Allow-Headers") == "" || h.Get("Access-Control-Allow-Methods") == "" {
				t.Errorf("preflight headers missing: %v", h)
			}
		})
	}
}
