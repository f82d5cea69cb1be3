package documents

import (
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/confab/confab/internal/store"
)

// Serve writes an opened document as an HTTP attachment: Content-Type,
// Content-Length and a Content-Disposition carrying its name, then the
// bytes, copied from content as they are read.
func Serve(w http.ResponseWriter, d store.Document, content io.Reader) error {
	h := w.Header()
	ct := d.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.FormatInt(d.Size, 10))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": SafeName(d.Name)}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, content); err != nil {
		return fmt.Errorf("documents: serve %s: %w", d.ID, err)
	}
	return nil
}

// SafeName returns the base name of a client-supplied file name, made safe
// to store and to send back: no directories, valid UTF-8, no control
// characters, at most 255 bytes, never empty ("file").
func SafeName(raw string) string {
	raw = strings.ReplaceAll(raw, "\\", "/")
	name := path.Base(raw)
	if name == "." || name == "/" || name == ".." {
		name = ""
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, "_"))
	if len(name) > 255 {
		cut := 255
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut]
	}
	if name == "" {
		name = "file"
	}
	return name
}

// ContentType returns the type to store for an upload: the declared one
// unless it is generic or malformed, else the one the name's extension
// implies, else application/octet-stream.
func ContentType(declared, name string) string {
	if mt, _, err := mime.ParseMediaType(declared); err == nil && mt != "application/octet-stream" && strings.Contains(mt, "/") && !strings.HasPrefix(mt, "multipart/") {
		return mt
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Upload is the content of an upload request and what it says about it.
type Upload struct {
	Name        string
	ContentType string
	Body        io.Reader // read it to the end (or the limit) once
}

// UploadBody returns the file an upload request carries: the first file
// part of a multipart/form-data body (parts before it are skipped, at most
// maxSkip bytes of them), or else the raw body, named by the name query
// parameter (or the X-File-Name header) and typed by Content-Type. Nothing
// is buffered beyond the multipart reader's own small buffer.
func UploadBody(r *http.Request, maxSkip int64) (Upload, error) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && mt == "multipart/form-data" {
		if params["boundary"] == "" {
			return Upload{}, fmt.Errorf("multipart/form-data without a boundary")
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return Upload{}, fmt.Errorf("the multipart body has no file part")
			}
			if err != nil {
				return Upload{}, fmt.Errorf("malformed multipart body: %w", err)
			}
			if p.FileName() != "" || p.FormName() == "file" {
				name := SafeName(p.FileName())
				return Upload{Name: name, ContentType: ContentType(p.Header.Get("Content-Type"), name), Body: p}, nil
			}
			n, err := io.Copy(io.Discard, io.LimitReader(p, maxSkip+1))
			if err != nil {
				return Upload{}, fmt.Errorf("malformed multipart part: %w", err)
			}
			if maxSkip -= n; maxSkip < 0 {
				return Upload{}, fmt.Errorf("the fields before the file part are too large")
			}
		}
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		name = r.Header.Get("X-File-Name")
	}
	name = SafeName(name)
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	return Upload{Name: name, ContentType: ContentType(ct, name), Body: body}, nil
}
