package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/server"
)

// BenchmarkNodeSend is one customer send (a form POST answered with JSON)
// through a whole node over one keep-alive loopback connection: net/http,
// the listener's middleware (deadlines, counters, CORS), the form, the
// engine and the answer, with transcript-auto-save=0 so that the store's
// commit is not in it. The client writes prepared bytes and reads the
// answer by its Content-Length, so the server's side is most of the CPU;
// profile it with -cpuprofile. cpu-ns/op is the process's CPU (client
// included) per send. A new chat every 2,000 sends keeps the
// transcript bounded.
func BenchmarkNodeSend(b *testing.B) {
	cfg, _, err := config.Parse("bench.ini", []byte("[settings]\ntranscript-auto-save = 0\n"+
		"[protection]\nparty-send-rate = 0\nchat-create-rate = 0\n"))
	if err != nil {
		b.Fatal(err)
	}
	srv := startB(b, b.TempDir(), cfg)
	addr := srv.Addr(config.PortWebAPI)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReaderSize(conn, 16<<10)
	var body []byte
	roundTrip := func(req []byte) {
		if _, err := conn.Write(req); err != nil {
			b.Fatal(err)
		}
		var n int
		status := 0
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			if status == 0 {
				status, _ = strconv.Atoi(string(line[9:12]))
			}
			if len(line) <= 2 {
				break
			}
			if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
				n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
			}
		}
		body = append(body[:0], make([]byte, n)...)
		if _, err := io.ReadFull(br, body); err != nil {
			b.Fatal(err)
		}
		if status != http.StatusOK {
			b.Fatalf("HTTP %d: %s", status, body)
		}
	}
	post := func(path, form string) []byte {
		return fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s",
			path, addr, len(form), form)
	}
	var send []byte
	idAt := 0 // where the clientMessageId's digits are: every send is a new message
	fresh := func() {
		roundTrip(post("/genesys/2/chat/customer-support", "nickname=Bench"))
		var start struct{ ChatID, UserID, SecureKey string }
		if err := json.Unmarshal(body, &start); err != nil || start.ChatID == "" {
			b.Fatalf("request chat: %v %s", err, body)
		}
		send = post("/genesys/2/chat/customer-support/"+start.ChatID+"/send",
			"userId="+start.UserID+"&secureKey="+start.SecureKey+"&alias=1"+
				"&message=Hello%2C+I+have+a+question+about+my+last+order+and+the+delivery+date.+t1_1764587000000000000"+
				"&messageType=text&clientMessageId=b12-0000000")
		idAt = len(send) - 7
	}
	fresh()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	defer func() { b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op") }()
	for i := 0; i < b.N; i++ {
		if i%2000 == 1999 {
			b.StopTimer()
			fresh()
			b.StartTimer()
		}
		copy(send[idAt:], strconv.AppendInt(nil, int64(1000000+i%2000), 10)[:7])
		roundTrip(send)
	}
}

// processCPU is the process's user plus system CPU time so far: on a
// shared machine the CPU per operation means more than the wall clock.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startB(b *testing.B, dir string, cfg *config.Config) *server.Server {
	b.Helper()
	var out bytes.Buffer
	srv, err := server.New(context.Background(), server.Options{Config: cfg, DataDir: dir, Listen: "127.0.0.1:0", Logger: quietLog(), Out: &out})
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		b.Fatalf("Start: %v", err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv
}
