//go:build !unix

package wsbatch

// tryWrite has no raw socket access here: the caller falls back to a
// short deadline.
func (c *Conn) tryWrite(p []byte) (n int, err error, ok bool) { return 0, nil, false }

// rawWrite has no use here.
type rawWrite struct{}
