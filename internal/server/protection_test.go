package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/config"
)

func parseConfig(t *testing.T, ini string) *config.Config {
	t.Helper()
	cfg, _, err := config.Parse("test.ini", []byte(ini))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// stall opens n connections that send a request's headers with
// Content-Length: 32000 and then only part of the body.
func stall(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	var conns []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		io.WriteString(c, "POST /genesys/2/chat/customer-support HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 32000\r\n\r\nnickname=")
		conns = append(conns, c)
	}
	return conns
}

// TestShutdownWithStalledClients reproduces the attack of issue 12:
// clients that send headers and then stop. Shutdown must not wait for
// them (it closes them after its grace period) and must report success,
// which is what makes `confab serve` exit 0.
func TestShutdownWithStalledClients(t *testing.T) {
	srv := start(t, t.TempDir(), nil)
	addr := srv.Addr(config.PortWebAPI)
	conns := stall(t, addr, 50)
	// The node still serves others meanwhile.
	if code := get(t, "http://"+addr+"/healthz"); code != 200 {
		t.Fatalf("healthz with stalled clients: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with stalled clients: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Shutdown used up its whole context")
	}
	// The stalled connections were closed by the server.
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("a stalled connection was left open: %v", err)
		}
	}
}

// TestBodyTimeout checks that a client that stops sending its body is
// answered and cut off after body-timeout (1 s here; transport deadlines
// run on the wall clock, as the network does), while a quick client on the
// same listener is served.
func TestBodyTimeout(t *testing.T) {
	srv := start(t, t.TempDir(), parseConfig(t, "[protection]\nbody-timeout = 1\n"))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 9*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	addr := srv.Addr(config.PortWebAPI)
	c := stall(t, addr, 1)[0]
	c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a bound on the test, not the assertion
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("the stalled client got no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 4 || !strings.Contains(string(body), "errors") {
		t.Fatalf("stalled body: HTTP %d %s", resp.StatusCode, body)
	}
	if code := get(t, "http://"+addr+"/healthz"); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
}

// TestQueryCountsAgainstRequestSize checks that a huge query string is
// refused by its size before it is parsed, and that headers past
// max-header-bytes are refused by the listener.
func TestQueryCountsAgainstRequestSize(t *testing.T) {
	srv := start(t, t.TempDir(), nil)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 9*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	base := "http://" + srv.Addr(config.PortWebAPI) + "/genesys/2/chat/customer-support"
	q := "?userData%5Bx%5D=" + strings.Repeat("a", 40000)
	resp, err := http.Post(base+q, "application/x-www-form-urlencoded", strings.NewReader("nickname=Ann"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "xml-request-max-size") {
		t.Fatalf("40 KB query: HTTP %d %s", resp.StatusCode, b)
	}
	resp, err = http.Post(base+"?"+strings.Repeat("a", 100000), "application/x-www-form-urlencoded", strings.NewReader("nickname=Ann"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("100 KB request line: HTTP %d, want 431", resp.StatusCode)
	}
}

// TestOwnedKeysCounted checks that the server-owned user-data keys a
// customer sends are dropped and counted on /Counters and /metrics.
func TestOwnedKeysCounted(t *testing.T) {
	srv := start(t, t.TempDir(), nil)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 9*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	base := "http://" + srv.Addr(config.PortWebAPI) + "/genesys/2/chat/customer-support"
	resp, err := http.Post(base, "application/x-www-form-urlencoded",
		strings.NewReader("nickname=Ann&userData[ContactId]=forged&userData[GCTI_Chat_AsyncStatus]=-2&userData[csg_x]=1&userData[Topic]=t"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	health := "http://" + srv.Addr(config.PortHealth)
	_, body := getBody(t, health+"/Counters?content=all")
	var counters map[string]int64
	if err := json.Unmarshal([]byte(body), &counters); err != nil {
		t.Fatal(err)
	}
	if counters["userdata_owned_keys_dropped"] != 3 {
		t.Errorf("userdata_owned_keys_dropped = %d, want 3", counters["userdata_owned_keys_dropped"])
	}
	if _, m := getBody(t, health+"/metrics"); !strings.Contains(m, "confab_userdata_owned_keys_dropped 3") {
		t.Errorf("/metrics lacks the dropped keys:\n%.2000s", m)
	}
}
