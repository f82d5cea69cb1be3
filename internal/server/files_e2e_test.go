package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"mime/multipart"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/chat"
)

// pattern is a reader of n deterministic bytes that allocates nothing.
type pattern struct{ left, i int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	n := int64(len(b))
	n = min(n, p.left)
	for k := range n {
		b[k] = byte((p.i + k) * 31 >> 3)
	}
	p.i += n
	p.left -= n
	return int(n), nil
}

func hashOf(t *testing.T, r io.Reader) [32]byte {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// TestFilesBothWays runs a node: the customer uploads a file and the
// agent downloads the same bytes; the agent uploads 100 MiB (the node's
// heap stays flat), announces it, and the customer downloads the same
// bytes; an agent of no session of the file gets 404; the operator limit
// refuses a larger agent upload.
func TestFilesBothWays(t *testing.T) {
	n := startE2E(t, t.TempDir(), "[documents]\nagent-upload-max-size = 110000000\n[client-file-transfer]\nupload-max-file-size = 3000000\nupload-max-total-size = 3000000\n")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cc := chatv2.New(n.chatURL, chatv2.Options{})
	defer cc.CloseIdleConnections()
	c, _, err := cc.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	alice := n.dial(t, "tok-alice")
	joined, err := alice.Accept(ctx, c.ID, wire.JoinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sess, _ := n.srv.Engine().Get(c.ID)
	lastNotice := func() chat.Event {
		evs, _, _, _ := sess.Read(joined.UserID, 0, nil)
		return evs[len(evs)-1]
	}

	// Customer → agent.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("userId", c.UserID)
	mw.WriteField("secureKey", c.SecureKey)
	mw.WriteField("alias", c.Alias())
	fw, _ := mw.CreateFormFile("file", "photo.png")
	want := hashOf(t, io.TeeReader(&pattern{left: 2500000}, fw))
	mw.Close()
	resp, err := http.Post(n.chatURL+"/customer-support/"+c.ID+"/file", mw.FormDataContentType(), &body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("customer upload: %v %v", resp, err)
	}
	resp.Body.Close()
	ev := lastNotice()
	docID := ev.UserData.String("file-document-id")
	if ev.Text != "file-uploaded" || docID == "" || ev.UserData.String("file-name") != "photo.png" {
		t.Fatalf("the agent saw %+v", ev)
	}
	dl, err := wire.OpenDocument(ctx, nil, n.agentURL, "tok-alice", docID)
	if err != nil {
		t.Fatal(err)
	}
	if got := hashOf(t, dl.Body); got != want || dl.Header.Get("Content-Type") != "image/png" || !strings.Contains(dl.Header.Get("Content-Disposition"), "photo.png") {
		t.Fatalf("the agent's download differs: %x %q %q", got, dl.Header.Get("Content-Type"), dl.Header.Get("Content-Disposition"))
	}
	dl.Body.Close()
	if _, err := wire.OpenDocument(ctx, nil, n.agentURL, "tok-bob", docID); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("bob, in no session of the file, downloaded it: %v", err)
	}

	// Agent → customer, 100 MiB, with the heap sampled meanwhile.
	const size = 100 << 20
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	h := sha256.New()
	doc, err := wire.UploadDocument(ctx, nil, n.agentURL, "tok-alice", "big.bin", "application/octet-stream", io.TeeReader(&pattern{left: size}, h))
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	wantBig := [32]byte(h.Sum(nil))
	growth := int64(peak) - int64(base.HeapInuse)
	t.Logf("100 MiB agent upload in %v; heap in use %d MiB before, peak %d MiB (growth %d MiB)", time.Since(start).Round(time.Millisecond), base.HeapInuse>>20, peak>>20, growth>>20)
	if doc.Size != size {
		t.Fatalf("stored %d bytes", doc.Size)
	}
	if growth > 32<<20 {
		t.Fatalf("the heap grew by %d MiB during a 100 MiB upload", growth>>20)
	}
	if _, err := alice.Notify(ctx, c.ID, wire.Notice{Type: "SYS_COMMAND", Text: "file-uploaded",
		UserData: map[string]any{"file-document-id": doc.ID, "file-description": "the big one"}}); err != nil {
		t.Fatal(err)
	}
	ev = lastNotice()
	fileID := ev.UserData.String("file-id")
	if fileID == "" || ev.UserData.String("file-size") != "104857600" || ev.UserData.String("file-name") != "big.bin" ||
		ev.UserData.String("file-description") != "the big one" || ev.UserData.String("file-type") != "application/octet-stream" {
		t.Fatalf("completed notice %+v", ev.UserData)
	}
	var fb bytes.Buffer
	mw = multipart.NewWriter(&fb)
	mw.WriteField("userId", c.UserID)
	mw.WriteField("secureKey", c.SecureKey)
	mw.WriteField("alias", c.Alias())
	mw.Close()
	resp, err = http.Post(n.chatURL+"/customer-support/"+c.ID+"/file/"+fileID+"/download", mw.FormDataContentType(), &fb)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("customer download: %v %v", resp, err)
	}
	if got := hashOf(t, resp.Body); got != wantBig {
		t.Fatal("the customer's download differs from the agent's upload")
	}
	resp.Body.Close()
	// A second announcement of the same document in another session fails.
	c2, _, _ := cc.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Zed"})
	if _, err := alice.Accept(ctx, c2.ID, wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Notify(ctx, c2.ID, wire.Notice{Type: "SYS_COMMAND", Text: "file-uploaded",
		UserData: map[string]any{"file-document-id": doc.ID}}); err == nil || !strings.Contains(err.Error(), "another session") {
		t.Fatalf("the same document announced in a second session: %v", err)
	}
	// The operator's limit.
	_, err = wire.UploadDocument(ctx, nil, n.agentURL, "tok-alice", "huge.bin", "", &pattern{left: 110000001})
	if de, ok := err.(*wire.DocumentError); !ok || de.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("an upload over agent-upload-max-size: %v", err)
	}
	if _, err := wire.UploadDocument(ctx, nil, n.agentURL, "wrong", "x", "", strings.NewReader("x")); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("an upload with a bad token: %v", err)
	}
	if got := n.srv.DocumentCounts(); got.CustomerUploads != 1 || got.CustomerDownloads != 1 || got.AgentUploads != 1 ||
		got.AgentDownloads != 1 || got.AgentRefused != 1 {
		t.Fatalf("document counts %+v", got)
	}
}

// TestAgentRichMessages: an agent's structured message needs its fallback
// text and well-formed content; the error names the field.
func TestAgentRichMessages(t *testing.T) {
	n := startE2E(t, t.TempDir(), "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cc := chatv2.New(n.chatURL, chatv2.Options{})
	defer cc.CloseIdleConnections()
	c, _, err := cc.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	bot := n.dial(t, "tok-bot")
	if _, err := bot.Join(ctx, c.ID, wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	rich := map[string]any{"structured-content": map[string]any{"genesys-chat": map[string]any{"content": `{"type":"Carousel"}`}}}
	if _, err := bot.Send(ctx, c.ID, wire.Message{Text: "Our offers", EventAttributes: rich}); err != nil {
		t.Fatalf("a well-formed rich message: %v", err)
	}
	_, err = bot.Send(ctx, c.ID, wire.Message{EventAttributes: rich})
	if err == nil || !strings.Contains(err.Error(), "text") {
		t.Fatalf("a rich message without fallback text: %v", err)
	}
	bad := map[string]any{"structured-content": map[string]any{"genesys-chat": map[string]any{"content": `{"type":`}}}
	_, err = bot.Send(ctx, c.ID, wire.Message{Text: "x", EventAttributes: bad})
	if err == nil || !strings.Contains(err.Error(), "structured-content.genesys-chat.content") {
		t.Fatalf("malformed structured content: %v", err)
	}
}
