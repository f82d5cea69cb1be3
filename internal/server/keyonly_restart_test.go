package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/config"
)

// TestKeyOnlyAfterRestart: a chat restored at start is found by its
// customer's secure key alone, as the Java SDK's CometD client and the
// widgets' /genesys/2/chat-ntf file operations send it (the key index is
// rebuilt from the restored sessions).
func TestKeyOnlyAfterRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	cfg := cfgOf(t, "[settings]\ntranscript-auto-save = 1\n")
	srv := start(t, dir, cfg)
	s, _, _ := liveChat(t, ctx, srv.Engine()) // its key: secure-key-1
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	srv2 := start(t, dir, cfg)
	defer srv2.Shutdown(ctx)
	base := "http://" + srv2.Addr(config.PortWebAPI)

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 5 * time.Second}
	const channel = "/service/chatV2/customer-support"
	var clientID string
	var got []json.RawMessage
	post := func(batch ...map[string]any) {
		t.Helper()
		for _, m := range batch {
			if clientID != "" {
				m["clientId"] = clientID
			}
		}
		body, _ := json.Marshal(batch)
		resp, err := hc.Post(base+"/genesys/cometd", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out []struct {
			Channel  string          `json:"channel"`
			ClientID string          `json:"clientId"`
			Data     json.RawMessage `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("cometd answer (HTTP %d): %v", resp.StatusCode, err)
		}
		for _, m := range out {
			if m.Channel == channel && m.Data != nil {
				got = append(got, m.Data)
			} else if m.ClientID != "" && clientID == "" {
				clientID = m.ClientID
			}
		}
	}
	post(map[string]any{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": []string{"long-polling"}})
	if clientID == "" {
		t.Fatal("no client id from the handshake")
	}
	post(map[string]any{"channel": "/meta/connect", "connectionType": "long-polling", "advice": map[string]any{"timeout": 0}})
	post(map[string]any{"channel": "/meta/subscribe", "subscription": channel})
	post(map[string]any{"channel": channel, "data": map[string]any{"operation": "sendMessage", "message": "by key after restart", "secureKey": "secure-key-1"}})
	for deadline := time.Now().Add(5 * time.Second); len(got) == 0 && time.Now().Before(deadline); {
		post(map[string]any{"channel": "/meta/connect", "connectionType": "long-polling", "advice": map[string]any{"timeout": 200}})
	}
	if len(got) == 0 || !strings.Contains(string(got[0]), `"statusCode":0`) {
		t.Fatalf("key-only sendMessage after the restart: %s", got)
	}
	r, err := srv2.Engine().Get(s.ID())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	evs, _, _ := r.ReadAll(0, nil)
	for _, e := range evs {
		found = found || e.Text == "by key after restart"
	}
	if !found {
		t.Error("the key-only message is not in the restored chat's transcript")
	}

	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("operation", "fileGetLimits")
	w.WriteField("secureKey", "secure-key-1")
	w.Close()
	resp, err := hc.Post(base+"/genesys/2/chat-ntf", w.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(out), `"statusCode":0`) {
		t.Errorf("chat-ntf fileGetLimits by key after the restart: HTTP %d %s", resp.StatusCode, out)
	}
}
