package webapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/store/sqlite"
)

// FuzzUploadMultipart feeds arbitrary multipart bodies to the streamed
// upload parser of a node with a real store and small limits. Whatever the
// input the answer keeps the contract (JSON, 200 or 4xx), and an upload
// answered with a file-id is stored under it with at most the size limit.
func FuzzUploadMultipart(f *testing.F) {
	cfg := configWith(f, "[settings]\nflex-disconnect-timeout = 1\n[client-file-transfer]\nupload-need-agent = false\nupload-max-file-size = 4096\nupload-max-total-size = 100000\nupload-max-files = 1000\nupload-file-types = txt:png\n")
	// SyncNormal: the fuzzer explores parsing and limits, not durability,
	// and an fsync per chunk would leave it a few executions a second.
	st, err := sqlite.Open(context.Background(), f.TempDir(), sqlite.Options{Synchronous: sqlite.SyncNormal})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close(context.Background()) })
	engine := chat.New(chat.Options{Settings: chat.Settings{ClosedGrace: time.Millisecond, SessionLimit: 1 << 30}})
	api := webapi.New(webapi.Options{
		Engine: engine, Config: func() *config.Config { return cfg }, Clock: clock.Real(), Log: quietLog(),
		MaxWait: time.Millisecond, Files: st,
	})
	mux := http.NewServeMux()
	api.Register(mux)
	f.Cleanup(func() { api.Shutdown(context.Background()) })
	fa := &fuzzAPI{mux: mux, engine: engine}
	f.Add("--B\r\nContent-Disposition: form-data; name=\"userId\"\r\n\r\n{userId}\r\n--B\r\nContent-Disposition: form-data; name=\"secureKey\"\r\n\r\n{secureKey}\r\n--B\r\nContent-Disposition: form-data; name=\"alias\"\r\n\r\n{alias}\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--B--\r\n", "B")
	f.Fuzz(func(t *testing.T, body, boundary string) {
		ids := fa.newChat(t)
		defer fa.end(ids)
		rec := fa.serve(http.MethodPost, "/genesys/2/chat/svc/"+ids["{chatId}"]+"/file", "multipart/form-data; boundary=\""+strings.ReplaceAll(boundary, "\"", "")+"\"", fill(body, ids))
		checkAnswer(t, rec)
		var m struct {
			UserData map[string]string `json:"userData"`
		}
		json.Unmarshal(rec.Body.Bytes(), &m)
		if id := m.UserData["file-id"]; id != "" {
			d, err := st.FindFile(context.Background(), ids["{chatId}"], id)
			if err != nil || d.Size > 4096 {
				t.Fatalf("answered file-id %s, stored %+v, %v", id, d, err)
			}
		}
	})
}
