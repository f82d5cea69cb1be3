package cometd_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// TestCORS: with [cors] origins, every customer endpoint (REST, cometd,
// chat-ntf) echoes an allowed origin with credentials, in preflights and
// answers; other origins get no Allow-Origin. Without, any origin and no
// credentials.
func TestCORS(t *testing.T) {
	paths := []string{"/genesys/2/chat/customer-support", "/genesys/cometd/handshake", "/genesys/cometd", "/genesys/2/chat-ntf"}
	for _, tc := range []struct {
		name, origins, origin string
		allow, cred           string
	}{
		{"open", "", "https://shop.example.com", "https://shop.example.com", ""},
		{"allowed exact", "https://shop.example.com", "https://shop.example.com", "https://shop.example.com", "true"},
		{"allowed wildcard", "https://*.example.com", "https://eu.shop.example.com", "https://eu.shop.example.com", "true"},
		{"refused", "https://shop.example.com", "https://evil.example.net", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, setup{origins: tc.origins})
			for _, p := range paths {
				for _, method := range []string{http.MethodOptions, http.MethodPost} {
					req, _ := http.NewRequest(method, h.url+p, strings.NewReader(`[{"channel":"/meta/handshake","version":"1.0"}]`))
					req.Header.Set("Origin", tc.origin)
					req.Header.Set("Access-Control-Request-Method", "POST")
					req.Header.Set("Content-Type", "application/json")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode >= 500 {
						t.Errorf("%s %s: HTTP %d", method, p, resp.StatusCode)
					}
					if method == http.MethodOptions && resp.StatusCode != http.StatusNoContent {
						t.Errorf("preflight %s: HTTP %d", p, resp.StatusCode)
					}
					if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.allow {
						t.Errorf("%s %s: Allow-Origin %q, want %q", method, p, got, tc.allow)
					}
					if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != tc.cred {
						t.Errorf("%s %s: Allow-Credentials %q, want %q", method, p, got, tc.cred)
					}
				}
			}
		})
	}
}

// TestNotificationFiles: /genesys/2/chat-ntf needs the cookie of a live
// CometD client, finds the chat by secureKey and answers as REST's file
// operations do.
func TestNotificationFiles(t *testing.T) {
	h := start(t, setup{})
	b := h.client()
	b.handshake()
	b.connect()
	b.publish(msg{"operation": "requestChat", "nickname": "Ann"})
	key := deliveries(b.connect(), chatCh)[0]["secureKey"].(string)
	post := func(hc *http.Client, fields map[string]string) (int, string) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, v := range fields {
			w.WriteField(k, v)
		}
		w.Close()
		resp, err := hc.Post(h.url+"/genesys/2/chat-ntf", w.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	if status, body := post(http.DefaultClient, map[string]string{"operation": "fileGetLimits", "secureKey": key}); status != http.StatusForbidden || !strings.Contains(body, `"code":401`) {
		t.Errorf("without the cookie: HTTP %d %s", status, body)
	}
	status, body := post(b.hc, map[string]string{"operation": "fileGetLimits", "secureKey": key})
	if status != 200 || !strings.Contains(body, `"upload-file-types"`) || !strings.Contains(body, `"statusCode":0`) {
		t.Errorf("fileGetLimits: HTTP %d %s", status, body)
	}
	if status, body := post(b.hc, map[string]string{"operation": "fileGetLimits", "secureKey": "wrong"}); status != 200 || !strings.Contains(body, `"code":401`) {
		t.Errorf("wrong key: HTTP %d %s", status, body)
	}
	if status, body := post(b.hc, map[string]string{"operation": "fileDelete", "secureKey": key, "fileId": "nope"}); status != 404 || !strings.Contains(body, "fileId") {
		t.Errorf("fileDelete of no file: HTTP %d %s", status, body)
	}
	if status, _ := post(b.hc, map[string]string{"operation": "juggle", "secureKey": key}); status != 400 {
		t.Errorf("unknown operation: HTTP %d", status)
	}
}
