package cometd_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/store/sqlite"
)

// TestNotificationFileUpload: a CometD client uploads through
// /genesys/2/chat-ntf (operation fileUpload, found by secureKey), streamed
// into the store like a REST upload, and downloads it back.
func TestNotificationFileUpload(t *testing.T) {
	st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	h := start(t, setup{webapi: webapi.Options{Files: st}})
	b := h.client()
	b.handshake()
	b.connect()
	b.publish(msg{"operation": "requestChat", "nickname": "Ann"})
	d := deliveries(b.connect(), chatCh)[0]
	key, chatID := d["secureKey"].(string), d["chatId"].(string)
	s, err := h.engine.Get(chatID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Join(chat.JoinRequest{Nick: "Anna", Type: chat.Agent, Protocol: chat.Basic}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("operation", "fileUpload")
	w.WriteField("secureKey", key)
	fw, _ := w.CreateFormFile("file", "note.txt")
	io.WriteString(fw, "hello over cometd")
	w.Close()
	resp, err := b.hc.Post(h.url+"/genesys/2/chat-ntf", w.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(out), `"file-id"`) {
		t.Fatalf("fileUpload: HTTP %d %s", resp.StatusCode, out)
	}
	docs, err := st.ListDocuments(context.Background(), chatID)
	if err != nil || len(docs) != 1 || docs[0].Size != int64(len("hello over cometd")) {
		t.Fatalf("stored %+v, %v", docs, err)
	}
	buf.Reset()
	w = multipart.NewWriter(&buf)
	w.WriteField("operation", "fileDownload")
	w.WriteField("secureKey", key)
	w.WriteField("fileId", docs[0].FileID)
	w.Close()
	resp, err = b.hc.Post(h.url+"/genesys/2/chat-ntf", w.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	out, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(out) != "hello over cometd" {
		t.Fatalf("fileDownload: HTTP %d %q", resp.StatusCode, out)
	}
}
