package chat

import "crypto/rand"

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewSessionID returns a random 16-character session id (about 95 bits of
// entropy), the shape of the reference's chat ids.
func NewSessionID() string { return randomString(16) }

// NewUserID returns a random party id of 16 upper-case hex digits, the shape
// of the reference's user ids.
func NewUserID() string {
	var b [8]byte
	rand.Read(b[:])
	var out [16]byte // the string's 16 bytes only (hex and ToUpper allocated 32)
	for i, c := range b {
		out[2*i], out[2*i+1] = upperHex[c>>4], upperHex[c&0x0f]
	}
	return string(out[:])
}

const upperHex = "0123456789ABCDEF"

// NewPassword returns a crypto-random session password.
func NewPassword() string { return randomString(20) }

// NewSecret returns a crypto-random token of n characters from [0-9A-Za-z],
// for secure keys and API tokens.
func NewSecret(n int) string { return randomString(n) }

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		// 256 is a multiple of 62 * 4 + 8; the slight bias of the modulus is
		// irrelevant for identifiers with this much entropy.
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}
