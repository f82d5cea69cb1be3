package webapi

import (
	"net/url"
	"strings"
	"testing"
	"unsafe"
)

// FuzzUnescapeQuery: the hand-made form decoder (urlencoded.go) agrees with
// net/url on every input: each pair's name and value are what
// url.QueryUnescape gives, in order, and a component it refuses is refused.
func FuzzUnescapeQuery(f *testing.F) {
	for _, s := range []string{"userId=u&secureKey=k&alias=1&message=Hello%2C+world&messageType=text",
		"a=%zz", "%41=%4", "x=%", "+%2B+=%e2%82%AC", "&&=&a&b==c", "userData%5Bk%5D=v", "%FF%fe=%00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		fm := &form{}
		fm.fields = fm.inline[:0]
		fl := fm.parseURLEncodedBytes([]byte(body), nil)
		var want []field
		bad := false
		for _, pair := range strings.Split(body, "&") {
			if pair == "" {
				continue
			}
			rn, rv, _ := strings.Cut(pair, "=")
			n, err1 := url.QueryUnescape(rn)
			v, err2 := url.QueryUnescape(rv)
			if err1 != nil || err2 != nil {
				bad = true
				break
			}
			if !strings.HasPrefix(n, "userData") { // user data go to their own map
				want = append(want, field{n, v})
			}
		}
		if bad {
			if fl == nil {
				t.Fatalf("%q: accepted what net/url refuses", body)
			}
			return
		}
		if fl != nil {
			if strings.Contains(body, "userData") {
				return // refused for its user data, not its encoding
			}
			t.Fatalf("%q: refused %v, net/url accepts it", body, fl.errs)
		}
		var got []field
		for _, fd := range fm.fields {
			if !strings.HasPrefix(fd.name, "userData") {
				got = append(got, fd)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%q: fields %q, want %q", body, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%q: field %d = %q, want %q", body, i, got[i], want[i])
			}
		}
	})
}

// TestDecodedFormOwnsItsBytes: decoding with a reused buffer (the session
// handler's pooled one) leaves no value or user data key in that buffer,
// which the next request overwrites.
func TestDecodedFormOwnsItsBytes(t *testing.T) {
	body := "userId=u1&secureKey=k&message=plain+text+with+plus&messageType=text&clientMessageId=b12-41" +
		"&alias=1&userData[plain]=v&userData%5Besc%5D=w&nickname=%C3%A9&unknownField=x&esc%41ped=y"
	buf := make([]byte, 0, 4096)
	f := &form{}
	if fl := f.decode(newRequest(body, formType, ""), 1<<16, &buf); fl != nil {
		t.Fatal(fl)
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf[:1])))
	hi := lo + uintptr(cap(buf))
	inBuf := func(s string) bool {
		if s == "" {
			return false
		}
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		return p >= lo && p < hi
	}
	for _, fd := range f.fields {
		if inBuf(fd.name) || inBuf(fd.value) {
			t.Errorf("field %q = %q lives in the reused buffer", fd.name, fd.value)
		}
	}
	for k, v := range f.userData {
		if s, _ := v.(string); inBuf(k) || inBuf(s) {
			t.Errorf("user data %q = %q lives in the reused buffer", k, s)
		}
	}
	for name, want := range map[string]string{"message": "plain text with plus", "nickname": "é", "escAped": "y", "unknownField": "x"} {
		if got := f.get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if len(f.userData) != 2 {
		t.Errorf("user data %v, want plain and esc", f.userData)
	}
}
