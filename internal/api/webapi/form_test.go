package webapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/confab/confab/internal/kv"
)

func newRequest(body, contentType, query string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/x?"+query, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func TestDecodeForm(t *testing.T) {
	const mp = "multipart/form-data; boundary=XyZ"
	multipartBody := "--XyZ\r\nContent-Disposition: form-data; name=\"nickname\"\r\n\r\nAnn\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"userData[k]\"\r\n\r\nv\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n12345\r\n" +
		"--XyZ--\r\n"
	for _, tc := range []struct {
		name, body, ctype, query string
		fields                   map[string]string
		userData                 string // JSON
		files                    int
		status                   int // of the failure, 0 for none
	}{
		{name: "plain", body: "nickname=Ann+B&subject=a%26b", ctype: formType,
			fields: map[string]string{"nickname": "Ann B", "subject": "a&b"}},
		{name: "percent-encoded brackets", body: "userData%5BGCTI_LanguageCode%5D=en&userData%5B_genesys_url%5D=https%3A%2F%2Fx", ctype: formType,
			userData: `{"GCTI_LanguageCode":"en","_genesys_url":"https://x"}`},
		{name: "plain brackets", body: "userData[a]=1&userData[b]=2", ctype: formType, userData: `{"a":"1","b":"2"}`},
		{name: "quoted keys", body: `userData["a"]=1&userData['b']=2`, ctype: formType, userData: `{"a":"1","b":"2"}`},
		{name: "nested keys", body: "userData[a][b]=1&userData[a][c]=2", ctype: formType, userData: `{"a":{"b":"1","c":"2"}}`},
		{name: "JSON userData", body: "userData=" + `{"a":"1","n":2}`, ctype: formType, userData: `{"a":"1","n":"2"}`},
		{name: "first value wins", body: "nickname=A&nickname=B", ctype: formType, fields: map[string]string{"nickname": "A"}},
		{name: "unknown fields kept aside", body: "x=1&userDataX=2&=3&&", ctype: formType, fields: map[string]string{"x": "1", "userDataX": "2"}},
		{name: "no content type", body: "nickname=Ann", fields: map[string]string{"nickname": "Ann"}},
		{name: "text/plain", body: "nickname=Ann", ctype: "text/plain;charset=UTF-8", fields: map[string]string{"nickname": "Ann"}},
		{name: "charset parameter", body: "nickname=Ann", ctype: formType + "; charset=UTF-8", fields: map[string]string{"nickname": "Ann"}},
		{name: "query fills in", body: "nickname=Ann", ctype: formType, query: "nickname=Bob&alias=1",
			fields: map[string]string{"nickname": "Ann", "alias": "1"}},
		{name: "multipart", body: multipartBody, ctype: mp, fields: map[string]string{"nickname": "Ann"}, userData: `{"k":"v"}`, files: 1},
		{name: "empty multipart", body: "--XyZ--\r\n", ctype: mp},
		{name: "empty body", body: "", ctype: formType},
		{name: "unterminated bracket", body: "userData[a=1", ctype: formType, status: 400},
		{name: "empty key", body: "userData[]=1", ctype: formType, status: 400},
		{name: "text after brackets", body: "userData[a]x=1", ctype: formType, status: 400},
		{name: "at the depth limit", body: "userData" + strings.Repeat("[a]", 16) + "=1", ctype: formType, userData: strings.Repeat(`{"a":`, 16) + `"1"` + strings.Repeat("}", 16)},
		{name: "too deep", body: "userData" + strings.Repeat("[a]", 17) + "=1", ctype: formType, status: 400},
		{name: "key clash", body: "userData[a]=1&userData[a][b]=2", ctype: formType, status: 400},
		{name: "bad JSON userData", body: "userData=nope", ctype: formType, status: 400},
		{name: "bad escape in value", body: "nickname=%zz", ctype: formType, status: 400},
		{name: "bad escape in name", body: "nick%zzname=1", ctype: formType, status: 400},
		{name: "invalid UTF-8 user data", body: "userData[a]=%FF", ctype: formType, status: 400},
		{name: "JSON body", body: "{}", ctype: "application/json", status: 415},
		{name: "unparseable content type", body: "", ctype: "multipart/form-data; boundary=\"", status: 415},
		{name: "multipart without boundary", body: "", ctype: "multipart/form-data", status: 400},
		{name: "truncated multipart", body: "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv", ctype: mp, status: 400},
		{name: "too large", body: strings.Repeat("a", 101), ctype: formType, status: 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, fl := decodeForm(newRequest(tc.body, tc.ctype, tc.query), 100+len(tc.body)*boolInt(tc.status != 413))
			if tc.status != 0 {
				if fl == nil || fl.status != tc.status {
					t.Fatalf("failure %v, want HTTP %d", fl, tc.status)
				}
				return
			}
			if fl != nil {
				t.Fatalf("refused: %v", fl)
			}
			for k, v := range tc.fields {
				if got := f.get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tc.userData != "" {
				want, _ := kv.FromJSON([]byte(tc.userData))
				if !kv.Equal(f.userData, want) {
					t.Errorf("userData %v, want %v", f.userData, want)
				}
			} else if f.userData != nil {
				t.Errorf("unexpected userData %v", f.userData)
			}
			if len(f.files) != tc.files {
				t.Errorf("%d files, want %d", len(f.files), tc.files)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FuzzDecodeForm feeds arbitrary bodies in each encoding to the decoder:
// it must never panic, refuse only with a 4xx, and what it accepts must be
// well formed (user data keys non-empty, valid UTF-8, at most
// maxUserDataDepth deep; values valid UTF-8).
func FuzzDecodeForm(f *testing.F) {
	f.Add("nickname=Ann&userData%5BGCTI_LanguageCode%5D=en", uint8(0))
	f.Add("--B\r\nContent-Disposition: form-data; name=\"userData[a]\"\r\n\r\nv\r\n--B--\r\n", uint8(1))
	f.Fuzz(func(t *testing.T, body string, enc uint8) {
		ctype := [...]string{formType, "multipart/form-data; boundary=B", "text/plain", ""}[enc%4]
		fm, fl := decodeForm(newRequest(body, ctype, ""), 1<<16)
		if fl != nil {
			if fl.status < 400 || fl.status > 499 || len(fl.errs) == 0 {
				t.Fatalf("refusal %+v", fl)
			}
			if !utf8.ValidString(fl.errs[0].advice) {
				t.Fatalf("advice is not UTF-8: %q", fl.errs[0].advice)
			}
			return
		}
		checkKV(t, fm.userData, 1)
	})
}

const formType = "application/x-www-form-urlencoded"

func checkKV(t *testing.T, m kv.Map, depth int) {
	t.Helper()
	if depth > maxUserDataDepth+1 {
		t.Fatalf("user data nested deeper than %d", maxUserDataDepth)
	}
	for k, v := range m {
		if !utf8.ValidString(k) {
			t.Fatalf("key %q is not UTF-8", k)
		}
		switch v := v.(type) {
		case string:
			if !utf8.ValidString(v) {
				t.Fatalf("value %q is not UTF-8", v)
			}
		case kv.Map:
			checkKV(t, v, depth+1)
		default:
			t.Fatalf("value of type %T", v)
		}
	}
}

// FuzzUserDataKey checks the bracket parser on its own: an accepted key
// yields 1..maxUserDataDepth non-empty, valid UTF-8 segments.
func FuzzUserDataKey(f *testing.F) {
	for _, s := range []string{"[a]", `["a"]`, "['a'][b]", "[a", "[]", "[a]b", `["]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		path, ok := userDataPath(s)
		if !ok {
			return
		}
		if len(path) == 0 || len(path) > maxUserDataDepth {
			t.Fatalf("%q: path %q", s, path)
		}
		for _, p := range path {
			if p == "" || !utf8.ValidString(p) {
				t.Fatalf("%q: segment %q", s, p)
			}
		}
	})
}
