package webapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strings"
)

// uploadReader walks the multipart/form-data body of a file upload without
// buffering it: the plain fields (session fields, userData[...]) are
// collected into a form within a byte budget, and the file part is handed
// over as a stream, to be read by the store with the size limit applied
// while reading. A body larger than the limits is therefore never read to
// its end.
type uploadReader struct {
	mr     *multipart.Reader
	f      *form
	budget int // bytes left for plain field names and values
	done   bool
}

// newUploadReader prepares to read the parts of an upload body. A body is
// multipart by its content, whatever its label (as decodeForm reads it):
// its first line is the boundary. A body that is not multipart is decoded
// as the other operations' bodies are and returned as a form (which holds
// no file); maxFields bounds the bytes of the plain fields.
func newUploadReader(r *http.Request, maxFields int) (*uploadReader, *form, *failure) {
	body := io.Reader(r.Body)
	if r.Body == nil {
		body = http.NoBody
	}
	br := bufio.NewReaderSize(body, 2048)
	head, _ := br.Peek(2048) // short at the end of the body; errors show on reading
	mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	boundary, sniffed := sniffMultipart(string(head))
	switch {
	case sniffed && (mediaType == "multipart/form-data" || formLabel(mediaType)):
	case mediaType == "multipart/form-data" && params["boundary"] == "":
		return nil, nil, invalid("", "multipart/form-data without a boundary")
	case mediaType == "multipart/form-data":
		boundary = params["boundary"]
	default:
		r.Body = io.NopCloser(br)
		f, fl := decodeForm(r, maxFields)
		if fl == nil {
			fl = sessionFields(f)
		}
		return nil, f, fl
	}
	u := &uploadReader{mr: multipart.NewReader(br, boundary), f: &form{}, budget: maxFields}
	u.f.fields = u.f.inline[:0]
	return u, nil, nil
}

// next reads plain fields until the next file part and returns it (the
// caller reads it before calling next again), or nil at the end of the
// body. A file part is one with a file name, or one named "file".
func (u *uploadReader) next() (*multipart.Part, *failure) {
	if u.done {
		return nil, nil
	}
	for {
		p, err := u.mr.NextPart()
		if errors.Is(err, io.EOF) {
			u.done = true
			return nil, nil
		}
		if err != nil {
			u.done = true
			return nil, invalid("", fmt.Sprintf("malformed multipart body: %v", err))
		}
		name := p.FormName()
		if p.FileName() != "" || name == "file" {
			return p, nil
		}
		value, err := io.ReadAll(io.LimitReader(p, int64(u.budget)+1))
		if err != nil {
			u.done = true
			return nil, invalid(clip(name), fmt.Sprintf("malformed multipart part: %v", err))
		}
		u.budget -= len(name) + len(value)
		if u.budget < 0 {
			u.done = true
			return nil, tooLarge(len(value))
		}
		if name == "" {
			continue
		}
		if fl := u.f.add(name, string(value)); fl != nil {
			u.done = true
			return nil, fl
		}
	}
}

// extension returns the lower-cased extension of a file name without the
// dot, or "".
func extension(name string) string {
	ext := path.Ext(name)
	if len(ext) < 2 {
		return ""
	}
	return strings.ToLower(ext[1:])
}

// allowedType reports whether the extension is in the colon-separated list
// of upload-file-types; an empty list allows every type.
func allowedType(list, ext string) bool {
	if list == "" {
		return true
	}
	for t := range strings.SplitSeq(list, ":") {
		if t == ext && ext != "" {
			return true
		}
	}
	return false
}
