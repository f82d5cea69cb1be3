package cluster_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/confab/confab/internal/cluster"
)

// ntfBody builds a multipart body of fields (name, value pairs; the name
// "file" makes a file part).
func ntfBody(fields ...string) (string, []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] == "file" {
			fw, _ := w.CreateFormFile("file", "a.txt")
			io.WriteString(fw, fields[i+1])
			continue
		}
		w.WriteField(fields[i], fields[i+1])
	}
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

// TestNotificationFields: the chatId and secureKey of a chat-ntf body are
// read from the fields before the file part (multipart) or from the whole
// form (url-encoded), within a bound, and the body is left byte for byte
// as it was for whoever reads it next.
func TestNotificationFields(t *testing.T) {
	big := strings.Repeat("x", 70<<10)
	mp := func(fields ...string) (string, []byte) { return ntfBody(fields...) }
	for _, c := range []struct {
		name        string
		ct          string
		body        []byte
		chatID, key string
	}{
		{name: "key and chat before the file", chatID: "c1", key: "k1"},
		{name: "key alone", key: "k2"},
		{name: "key after the file", key: ""},
		{name: "key past the bound", key: ""},
		{name: "url-encoded", ct: "application/x-www-form-urlencoded", body: []byte("operation=fileGetLimits&secureKey=k3&chatId=c3"), chatID: "c3", key: "k3"},
		{name: "no content type", body: []byte("secureKey=k4")},
		{name: "broken multipart", ct: "multipart/form-data; boundary=zz", body: []byte("--zz\r\nnot a header\r\n\r\nsecureKey")},
	} {
		t.Run(c.name, func(t *testing.T) {
			ct, body := c.ct, c.body
			switch c.name {
			case "key and chat before the file":
				ct, body = mp("operation", "fileUpload", "chatId", "c1", "secureKey", "k1", "file", "data")
			case "key alone":
				ct, body = mp("operation", "fileDownload", "secureKey", "k2", "fileId", "f")
			case "key after the file":
				ct, body = mp("operation", "fileUpload", "file", "data", "secureKey", "k9")
			case "key past the bound":
				ct, body = mp("operation", "fileUpload", "userData[x]", big, "secureKey", "k9")
			}
			r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/genesys/2/chat-ntf", bytes.NewReader(body))
			if ct != "" {
				r.Header.Set("Content-Type", ct)
			}
			chatID, key := cluster.NotificationFields(r)
			if chatID != c.chatID || key != c.key {
				t.Errorf("fields %q %q, want %q %q", chatID, key, c.chatID, c.key)
			}
			rest, err := io.ReadAll(r.Body)
			if err != nil || !bytes.Equal(rest, body) {
				t.Errorf("body after the read: %d bytes (%v), want the %d bytes sent", len(rest), err, len(body))
			}
		})
	}
}

// FuzzNotificationFields: whatever the body, reading its fields leaves it
// byte for byte as it was.
func FuzzNotificationFields(f *testing.F) {
	ct, body := ntfBody("operation", "fileUpload", "secureKey", "k", "chatId", "c", "file", "data")
	f.Add(ct, body)
	f.Add("application/x-www-form-urlencoded", []byte("secureKey=k&chatId=c"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/genesys/2/chat-ntf", bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		chatID, key := cluster.NotificationFields(r)
		if len(chatID) > 1024 || len(key) > 1024 {
			t.Fatalf("fields over the bound: %d, %d bytes", len(chatID), len(key))
		}
		rest, err := io.ReadAll(r.Body)
		if err != nil || !bytes.Equal(rest, body) {
			t.Fatalf("body changed: %q, want %q (%v)", rest, body, err)
		}
	})
}
