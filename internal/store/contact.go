package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
)

// NormalizeAttribute returns the form of a contact attribute value that
// IdentifyContact compares: surrounding spaces trimmed and, for
// EmailAddress, lower-cased. Every store compares with it.
func NormalizeAttribute(name, value string) string {
	v := strings.TrimSpace(value)
	if name == AttrEmailAddress {
		v = strings.ToLower(v)
	}
	return v
}

// IdentifyingKey returns the first name in keys whose attribute is present
// (not blank) in attrs, with its normalized value; ok is false if there is
// none. It is the rule of Contacts.IdentifyContact, shared by every store.
func IdentifyingKey(attrs map[string]string, keys []string) (key, norm string, ok bool) {
	for _, k := range keys {
		if v := NormalizeAttribute(k, attrs[k]); v != "" {
			return k, v, true
		}
	}
	return "", "", false
}

// NewID returns a new random identifier that sorts roughly by t: a UUID of
// version 7 (48 bits of Unix milliseconds, then 74 random bits) in its
// canonical text form.
func NewID(t time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails (Go 1.24+)
	ms := uint64(t.UnixMilli())
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms)
	copy(b[:6], ts[2:])
	b[6] = b[6]&0x0f | 0x70 // version 7
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
