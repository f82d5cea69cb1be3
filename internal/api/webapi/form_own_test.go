package webapi

import (
	"testing"
	"unsafe"
)

// TestFormValuesOwnTheirBytes: a decoded value (or user data key) never
// shares memory with the request body, which would otherwise stay in
// memory as long as the transcript keeps the message text or client
// message id taken from it.
func TestFormValuesOwnTheirBytes(t *testing.T) {
	body := "userId=u1&secureKey=k&message=plain+text+with+plus&messageType=text&clientMessageId=b12-41" +
		"&alias=1&userData[plain]=v&userData%5Besc%5D=w&nickname=%C3%A9"
	f := &form{}
	f.fields = f.inline[:0]
	if fl := f.parseURLEncoded(body); fl != nil {
		t.Fatal(fl)
	}
	lo := uintptr(unsafe.Pointer(unsafe.StringData(body)))
	hi := lo + uintptr(len(body))
	inBody := func(s string) bool {
		if s == "" {
			return false
		}
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		return p >= lo && p < hi
	}
	for _, fd := range f.fields {
		if inBody(fd.value) {
			t.Errorf("field %s: value %q is a substring of the body", fd.name, fd.value)
		}
	}
	if got := f.get("clientMessageId"); got != "b12-41" {
		t.Errorf("clientMessageId = %q", got)
	}
	for k, v := range f.userData {
		if inBody(k) {
			t.Errorf("user data key %q is a substring of the body", k)
		}
		if s, _ := v.(string); inBody(s) {
			t.Errorf("user data %s = %q is a substring of the body", k, s)
		}
	}
	if len(f.userData) != 2 {
		t.Errorf("user data %v, want plain and esc", f.userData)
	}
}
