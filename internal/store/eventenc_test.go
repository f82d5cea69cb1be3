package store

import (
	"encoding/json"
	"errors"
	"testing"
)

type testEncoder struct {
	data json.RawMessage
	err  error
}

func (e *testEncoder) EncodeEvent() (json.RawMessage, error) { return e.data, e.err }

type testAppender struct{ testEncoder }

func (e *testAppender) AppendEvent(dst []byte) ([]byte, error) {
	if e.err != nil {
		return append(dst, "partial"...), e.err
	}
	return append(dst, e.data...), nil
}

// TestEncodeDataInto: an appender's encoding goes into the buffer (Data a
// capped slice of it), any other encoder's as EncodeData gives it, Data
// already set is kept, and a failing encoder is ErrInvalid with the buffer
// unchanged.
func TestEncodeDataInto(t *testing.T) {
	boom := errors.New("boom")
	for _, c := range []struct {
		name     string
		row      EventRow
		wantData string
		wantBuf  string
		wantErr  error
	}{
		{"appender", EventRow{Encoder: &testAppender{testEncoder{data: json.RawMessage(`{"a":1}`)}}}, `{"a":1}`, `prev{"a":1}`, nil},
		{"encoder only", EventRow{Encoder: &testEncoder{data: json.RawMessage(`{"b":2}`)}}, `{"b":2}`, `prev`, nil},
		{"data given", EventRow{Data: json.RawMessage(`{"c":3}`), Encoder: &testAppender{testEncoder{data: json.RawMessage(`{"x":0}`)}}}, `{"c":3}`, `prev`, nil},
		{"appender fails", EventRow{Encoder: &testAppender{testEncoder{err: boom}}}, ``, `prev`, ErrInvalid},
		{"encoder fails", EventRow{Encoder: &testEncoder{err: boom}}, ``, `prev`, ErrInvalid},
		{"encoder gives nil", EventRow{Encoder: &testEncoder{}}, ``, `prev`, ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			buf, err := c.row.EncodeDataInto([]byte("prev"))
			if !errors.Is(err, c.wantErr) || (err == nil) != (c.wantErr == nil) {
				t.Fatalf("err %v, want %v", err, c.wantErr)
			}
			if string(buf) != c.wantBuf || string(c.row.Data) != c.wantData {
				t.Fatalf("buf %q data %q, want %q %q", buf, c.row.Data, c.wantBuf, c.wantData)
			}
			if c.wantBuf != "prev" && cap(c.row.Data) != len(c.row.Data) {
				t.Fatalf("Data has capacity %d past its %d bytes: an append would overwrite the next event", cap(c.row.Data), len(c.row.Data))
			}
		})
	}
}
