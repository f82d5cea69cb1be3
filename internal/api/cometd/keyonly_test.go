package cometd_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/confab/confab/internal/api/cometd"
	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
)

// keyHooks are a cluster's hooks for secure-key-only operations, over a
// chat the key index does not know (one brought here in a cluster is
// created directly on the engine, as a restoration does).
type keyHooks struct {
	mu      sync.Mutex // guards the following
	chatOf  []string   // keys ChatOfKey was asked about
	located []string   // chat ids Locate was asked about
	byKey   []string   // "chatID key" LocateKey was asked about

	keys map[string]string // key -> chat id the store names
	fail atomic.Bool
}

func (k *keyHooks) options() (cometd.Options, webapi.Options) {
	return cometd.Options{
			ChatOfKey: func(ctx context.Context, key string) (string, error) {
				k.mu.Lock()
				defer k.mu.Unlock()
				k.chatOf = append(k.chatOf, key)
				if k.fail.Load() {
					return "", errors.New("store down")
				}
				return k.keys[key], nil
			},
			Locate: func(ctx context.Context, chatID, key string) (bool, error) {
				k.mu.Lock()
				defer k.mu.Unlock()
				k.located = append(k.located, chatID)
				return false, nil
			},
		}, webapi.Options{
			LocateKey: func(ctx context.Context, chatID, key string) (string, error) {
				k.mu.Lock()
				defer k.mu.Unlock()
				k.byKey = append(k.byKey, chatID+" "+key)
				if k.fail.Load() {
					return "", errors.New("store down")
				}
				if chatID != "" {
					return chatID, nil
				}
				return k.keys[key], nil
			},
		}
}

func (k *keyHooks) calls() (chatOf, located, byKey []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.chatOf...), append([]string(nil), k.located...), append([]string(nil), k.byKey...)
}

// restored creates a chat on the engine alone: the key index does not know
// its customer's key.
func restored(t *testing.T, h *harness, key string) *chat.Session {
	t.Helper()
	s, _, _, err := h.engine.Create(chat.CreateRequest{Tenant: "1", Endpoint: "default", Queue: "q",
		Creator: chat.JoinRequest{Nick: "Kay", Type: chat.Client, Protocol: chat.Flex, Secret: key}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// answer publishes data and returns the one delivery of its answer.
func answer(t *testing.T, b *bc, data msg) map[string]any {
	t.Helper()
	if p := b.publish(data); p["successful"] != true {
		t.Fatalf("publish %v: %v", data, p)
	}
	ds := deliveries(b.connect(), chatCh)
	if len(ds) == 0 {
		t.Fatalf("no answer to %v", data)
	}
	return ds[0]
}

// TestKeyOnlyPublishLocates: an operation published with its secure key
// alone, whose key this node's index does not know, asks the cluster for
// the key's chat (ChatOfKey), brings it here (Locate) and then runs, and
// the key is known from then on (no second lookup). A wrong key — one no
// chat has, or one the store names a chat for that is not its customer's —
// is refused exactly as on one node, and a store that does not answer is
// an answer to try again.
func TestKeyOnlyPublishLocates(t *testing.T) {
	k := &keyHooks{keys: map[string]string{}}
	co, wo := k.options()
	h := start(t, setup{opts: co, webapi: wo})
	key := strings.Repeat("k", 32)
	s := restored(t, h, key)
	k.keys[key] = s.ID()
	k.keys["forged"] = s.ID()

	b := h.client()
	b.handshake()
	b.connect()
	b.subscribe(chatCh)
	if d := answer(t, b, msg{"operation": "sendMessage", "message": "by key", "secureKey": key}); d["statusCode"] != float64(0) {
		t.Fatalf("key-only sendMessage: %v", d)
	}
	chatOf, located, _ := k.calls()
	if !reflect.DeepEqual(chatOf, []string{key}) || !reflect.DeepEqual(located, []string{s.ID()}) {
		t.Errorf("ChatOfKey saw %v and Locate %v; want the key, then its chat, once", chatOf, located)
	}
	if d := answer(t, b, msg{"operation": "startTyping", "secureKey": key}); d["statusCode"] != float64(0) {
		t.Fatalf("second key-only operation: %v", d)
	}
	if chatOf, _, _ := k.calls(); len(chatOf) != 1 {
		t.Errorf("ChatOfKey asked again for a key the index knows: %v", chatOf)
	}
	found := false
	evs, _, _ := s.ReadAll(0, nil)
	for _, e := range evs {
		found = found || e.Text == "by key"
	}
	if !found {
		t.Error("the key-only message is not in the transcript")
	}

	// The refusal on one node, for comparison.
	one := start(t, setup{})
	ob := one.client()
	ob.handshake()
	ob.connect()
	ob.subscribe(chatCh)
	want := answer(t, ob, msg{"operation": "sendMessage", "message": "x", "secureKey": "nobody"})
	for _, wrong := range []string{"nobody", "forged"} {
		c := h.client()
		c.handshake()
		c.connect()
		c.subscribe(chatCh)
		if got := answer(t, c, msg{"operation": "sendMessage", "message": "x", "secureKey": wrong}); !reflect.DeepEqual(got, want) || got["statusCode"] != float64(2) {
			t.Errorf("key %q: answered %v, want %v (as on one node)", wrong, got, want)
		}
	}

	k.fail.Store(true)
	c := h.client()
	c.handshake()
	c.connect()
	c.subscribe(chatCh)
	d := answer(t, c, msg{"operation": "sendMessage", "message": "x", "secureKey": "unknown-while-down"})
	if errs, _ := d["errors"].([]any); d["statusCode"] != float64(1) || len(errs) != 1 || !strings.Contains(errs[0].(map[string]any)["advice"].(string), "located") {
		t.Errorf("key-only publish while the store is down: %v, want the try-again answer", d)
	}
}

// TestNotificationFilesLocate: a /genesys/2/chat-ntf operation whose key
// the index does not know asks the cluster (LocateKey, with the chatId it
// sent, if any) and runs on the chat it names when the key is its
// customer's; a wrong key is refused as on one node; a store that does not
// answer is a 503 to retry.
func TestNotificationFilesLocate(t *testing.T) {
	k := &keyHooks{keys: map[string]string{}}
	co, wo := k.options()
	h := start(t, setup{opts: co, webapi: wo})
	key := strings.Repeat("n", 32)
	s := restored(t, h, key)
	k.keys[key] = s.ID()
	k.keys["forged"] = s.ID()
	b := h.client()
	b.handshake()
	b.connect()
	ntf := func(h *harness, b *bc, fields ...string) (int, string) {
		t.Helper()
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for i := 0; i+1 < len(fields); i += 2 {
			w.WriteField(fields[i], fields[i+1])
		}
		w.Close()
		resp, err := b.hc.Post(h.url+"/genesys/2/chat-ntf", w.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(out)
	}
	if code, out := ntf(h, b, "operation", "fileGetLimits", "secureKey", key); code != 200 || !strings.Contains(out, `"statusCode":0`) {
		t.Fatalf("fileGetLimits by an unindexed key: HTTP %d %s", code, out)
	}
	ntf(h, b, "operation", "fileGetLimits", "secureKey", key)
	if _, _, byKey := k.calls(); !reflect.DeepEqual(byKey, []string{" " + key}) {
		t.Errorf("LocateKey saw %v, want the key once (then the index knows it)", byKey)
	}

	one := start(t, setup{})
	ob := one.client()
	ob.handshake()
	ob.connect()
	wantCode, want := ntf(one, ob, "operation", "fileGetLimits", "secureKey", "nobody")
	for _, wrong := range []string{"nobody", "forged"} {
		if code, out := ntf(h, b, "operation", "fileGetLimits", "secureKey", wrong); code != wantCode || out != want || !strings.Contains(out, `"statusCode":2`) {
			t.Errorf("key %q: HTTP %d %s, want HTTP %d %s (as on one node)", wrong, code, out, wantCode, want)
		}
	}
	if _, _, byKey := k.calls(); len(byKey) != 3 {
		t.Errorf("LocateKey saw %v, want each wrong key asked about", byKey)
	}
	// A chatId sent along is passed on.
	ntf(h, b, "operation", "fileGetLimits", "secureKey", "other", "chatId", "c-1")
	if _, _, byKey := k.calls(); byKey[len(byKey)-1] != "c-1 other" {
		t.Errorf("LocateKey saw %v, want the chatId and key last", byKey)
	}

	k.fail.Store(true)
	code, out := ntf(h, b, "operation", "fileGetLimits", "secureKey", "unknown-while-down")
	if code != 503 || !strings.Contains(out, `"code":503`) || !strings.Contains(out, "located") {
		t.Errorf("chat-ntf while the store is down: HTTP %d %s, want 503 and the try-again advice", code, out)
	}
}

// TestNotificationFilesForward: a chat-ntf request from a browser with no
// live client here is offered to ForwardFiles (in a cluster: the node its
// client lives on), whose answer is the whole answer; declined, it is the
// usual 403. A live client's request is served here without asking.
func TestNotificationFilesForward(t *testing.T) {
	var asked atomic.Int32
	var forward atomic.Bool
	h := start(t, setup{opts: cometd.Options{ForwardFiles: func(w http.ResponseWriter, r *http.Request) bool {
		asked.Add(1)
		if !forward.Load() {
			return false
		}
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "from the client's node")
		return true
	}}})
	post := func(b *bc) (int, string) {
		t.Helper()
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		w.WriteField("operation", "fileGetLimits")
		w.WriteField("secureKey", "some-key")
		w.Close()
		resp, err := b.hc.Post(h.url+"/genesys/2/chat-ntf", w.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(out)
	}
	stranger := h.client()
	if code, _ := post(stranger); code != http.StatusForbidden || asked.Load() != 1 {
		t.Errorf("declined: HTTP %d, asked %d times; want 403 after one offer", code, asked.Load())
	}
	forward.Store(true)
	if code, out := post(stranger); code != http.StatusTeapot || out != "from the client's node" {
		t.Errorf("forwarded: HTTP %d %q, want the forwarded answer", code, out)
	}
	live := h.client()
	live.handshake()
	live.connect()
	before := asked.Load()
	if code, out := post(live); code != 200 || !strings.Contains(out, `"statusCode":2`) || asked.Load() != before {
		t.Errorf("live client: HTTP %d %s, asked %d more times; want the Chat API's refusal here, no offer", code, out, asked.Load()-before)
	}
}
