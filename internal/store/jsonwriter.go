package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// JSONWriter is a JSON value that the store writes itself, by calling
// Write with the writer the value goes to, when the write's turn comes on
// the store's writer. A large value (a closing session's final transcript)
// is then encoded straight from what the caller holds (the session's
// events) into the one buffer the database driver binds, instead of
// waiting in the write queue as a second, finished copy. Write may be
// called more than once (a write that is retried) and must write the same
// bytes each time. The zero JSONWriter stores NULL.
type JSONWriter struct {
	// Size is a guess of the value's length, so that the buffer it is
	// written into is allocated once; 0 if unknown.
	Size  int
	Write func(w io.Writer) error
	// Events, when set, describes the same value (a final transcript) as
	// parts of the stored events, for a store that composes it from them
	// (finalevents.go); Write stays the way to write it.
	Events *FinalEvents
}

// Bytes returns the JSONWriter of an already encoded value (the zero one,
// NULL, for a nil value).
func Bytes(b json.RawMessage) JSONWriter {
	if b == nil {
		return JSONWriter{}
	}
	return JSONWriter{Size: len(b), Write: func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}}
}

// Render writes d into one buffer of its Size and returns the bytes, or nil
// for the zero JSONWriter.
func Render(d JSONWriter) ([]byte, error) {
	if d.Write == nil {
		return nil, nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, max(d.Size, 512)))
	if err := d.Write(buf); err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	return buf.Bytes(), nil
}
