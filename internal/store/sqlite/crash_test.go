package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

// crashDirEnv tells a re-executed test binary to run as TestCrash's child,
// appending events to the store in that directory.
const crashDirEnv = "CONFAB_STORE_CRASH_DIR"

func crashEvent(session string, pos int64) store.EventRow {
	return store.EventRow{
		SessionID: session, Position: pos, EventID: pos + 1,
		Time: time.UnixMicro(1_700_000_000_000_000 + pos).UTC(),
		Data: []byte(fmt.Sprintf(`{"session":%q,"pos":%d,"text":"%s"}`, session, pos, strings.Repeat("m", int(pos%200)))),
	}
}

// TestCrashChild is the child process of TestCrash: it appends events from
// several goroutines, each keeping a window of writes in flight and resuming
// its session where the store says it ended, and prints
// "ACK session position" once a write's Wait has returned nil, until it is
// killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrash")
	}
	// A bound in case the parent dies without killing us.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var mu sync.Mutex // serialises lines on stdout
	var acks atomic.Int64
	opts := sqlite.Options{}
	var s *sqlite.Store
	if os.Getenv(crashCkptEnv) != "" {
		// Checkpoint often; once enough is acknowledged, the next
		// checkpoint kills the process while it runs.
		opts.CheckpointPages = 256 // each checkpoint copies 2 MiB or more and syncs
		var once sync.Once
		opts.BeforeCheckpoint = func() {
			if acks.Load() < 1000 {
				return
			}
			once.Do(func() { killDuringCheckpoint(ctx, s, &mu) })
		}
	}
	if os.Getenv(crashSpanEnv) != "" {
		opts.EventLogSpan = 2000 // rows move to event_cold all along
	}
	s, err := sqlite.Open(ctx, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	if opts.EventLogSpan != 0 {
		// Short sessions come and go meanwhile (not acknowledged: their
		// closes make the writer trim and purge as it moves rows).
		wg.Go(func() {
			for k := 0; ctx.Err() == nil; k++ {
				session := fmt.Sprint("short-", k)
				var tks []store.Ticket
				for pos := range int64(300) {
					tks = append(tks, s.AppendEvent(ctx, crashEvent(session, pos)))
				}
				for _, tk := range tks {
					tk.Wait(ctx)
				}
				s.DeleteEvents(ctx, session)
			}
		})
	}
	for g := range 8 {
		wg.Go(func() {
			session := fmt.Sprint("crash-", g)
			// Resume like a restored session, replaying the last few
			// events (identical writes are no-ops).
			stored, err := s.LoadEvents(ctx, session)
			if err != nil {
				t.Error(err)
				return
			}
			var window []store.Ticket
			for pos := max(0, int64(len(stored))-20); ctx.Err() == nil; pos++ {
				window = append(window, s.AppendEvent(ctx, crashEvent(session, pos)))
				if len(window) < 16 {
					continue
				}
				if err := window[0].Wait(ctx); err != nil {
					t.Errorf("%s/%d: %v", session, pos-int64(len(window))+1, err)
					return
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ACK %s %d\n", session, pos-int64(len(window))+1)
				mu.Unlock()
				acks.Add(1)
				window = window[1:]
			}
		})
	}
	wg.Wait()
}

// crashSpanEnv makes TestCrashChild keep the event log short, so that it
// is killed while rows move to event_cold and closed sessions' rows go.
const crashSpanEnv = "CONFAB_STORE_CRASH_SPAN"

// crashCkptEnv makes TestCrashChild kill itself during a WAL checkpoint.
const crashCkptEnv = "CONFAB_STORE_CRASH_CHECKPOINT"

// killDuringCheckpoint runs as a checkpoint statement starts: it lets it go
// on for up to 300 µs (it copies at least 256 pages and syncs the
// database file) and sends the process SIGKILL, saying whether the
// checkpoint still ran.
func killDuringCheckpoint(ctx context.Context, s *sqlite.Store, mu *sync.Mutex) {
	time.Sleep(time.Duration(rand.Int64N(300)) * time.Microsecond)
	st, err := s.WriterStats(ctx)
	during := err == nil && st.Checkpointing
	mu.Lock() // no acknowledgement line is cut in half
	fmt.Fprintf(os.Stdout, "KILL checkpointing=%v\n", during)
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// TestCrashDuringCheckpoint has the child kill itself with SIGKILL while a
// WAL checkpoint copies pages into the database file, several times on the
// same directory, and checks each time that the store reopens intact with
// every acknowledged event.
func TestCrashDuringCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	acked := make(map[crashAck]bool)
	// At least three rounds, more (up to eight) until a kill has landed
	// while the checkpoint statement still ran (about two in three do).
	rounds, most := 3, 8
	if raceEnabled {
		rounds, most = 1, 1
	}
	during := 0
	for round := 0; round < rounds || (during == 0 && round < most); round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.v=false")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashCkptEnv+"=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v, not killed: %s", round, err, stderr.String())
		}
		n, killLine := 0, ""
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) == 3 && f[0] == "ACK":
				pos, err := strconv.ParseInt(f[2], 10, 64)
				if err != nil {
					t.Fatalf("bad line %q", line)
				}
				acked[crashAck{f[1], pos}] = true
				n++
			case len(f) > 0 && f[0] == "KILL":
				killLine = line
			}
		}
		if killLine == "" {
			t.Fatalf("round %d: the child was killed, but not by its checkpoint hook: %s", round, stderr.String())
		}
		if strings.HasSuffix(killLine, "=true") {
			during++
		}
		t.Logf("round %d: %d acknowledgements, %s", round, n, killLine)
		checkAcked(t, dir, acked)
	}
	if during == 0 && !raceEnabled { // under the race detector one round may miss it
		t.Fatal("no kill landed while a checkpoint ran")
	}
}

type crashAck struct {
	session string
	pos     int64
}

// TestCrash kills a process that is writing events with SIGKILL and checks
// that the store reopens cleanly (integrity_check) with every acknowledged
// event present. It does so three times on the same directory; the later
// children resume the sessions, replaying their last events.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	acked := make(map[crashAck]bool)
	rounds := 3
	if raceEnabled {
		rounds = 1
	}
	for round := range rounds {
		n := runCrashChild(t, dir, acked)
		t.Logf("round %d: child killed after %d acknowledgements", round, n)
		checkAcked(t, dir, acked)
	}
}

// TestCrashWhileMoving kills the writing process while its event log is
// kept short (rows move to event_cold all along, short sessions close and
// their rows are trimmed and purged) and checks that every acknowledged
// event is there after the restart, twice on the same directory.
func TestCrashWhileMoving(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	acked := make(map[crashAck]bool)
	rounds := 2
	if raceEnabled {
		rounds = 1
	}
	for round := range rounds {
		n := runCrashChild(t, dir, acked, crashSpanEnv+"=1")
		t.Logf("round %d: child killed after %d acknowledgements", round, n)
		checkAcked(t, dir, acked)
	}
}

// runCrashChild runs TestCrashChild on dir until it has acknowledged a few
// thousand events, kills it, and adds its acknowledgements to acked.
func runCrashChild(t *testing.T, dir string, acked map[crashAck]bool, env ...string) int {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.v=false")
	cmd.Env = append(append(os.Environ(), crashDirEnv+"="+dir), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	lines := make(chan crashAck, 1024)
	scanDone := make(chan error, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 3 || f[0] != "ACK" {
				continue
			}
			pos, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil {
				scanDone <- fmt.Errorf("bad line %q", sc.Text())
				return
			}
			lines <- crashAck{f[1], pos}
		}
		scanDone <- sc.Err()
	}()

	const wantAcks = 4000
	deadline := time.After(2 * time.Minute) // a safety bound, not a wait
	n := 0
	for n < wantAcks {
		select {
		case a, ok := <-lines:
			if !ok {
				t.Fatalf("child exited after %d acknowledgements: %s", n, stderr.String())
			}
			acked[a] = true
			n++
		case <-deadline:
			t.Fatalf("only %d acknowledgements before the deadline: %s", n, stderr.String())
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no chance to flush or close
		t.Fatal(err)
	}
	killed = true
	// Acknowledgements printed before the kill may still be in the pipe;
	// read them all before Wait closes it.
	for a := range lines {
		acked[a] = true
		n++
	}
	if err := <-scanDone; err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	return n
}

// checkAcked reopens the store and checks that every acknowledged event is
// stored intact.
func checkAcked(t *testing.T, dir string, acked map[crashAck]bool) {
	t.Helper()
	s := openStore(t, dir, sqlite.Options{Check: sqlite.CheckFull}) // integrity_check
	defer s.Close(context.Background())
	ctx := context.Background()
	latest := make(map[string]int64)
	for a := range acked {
		latest[a.session] = max(latest[a.session], a.pos)
	}
	for session, last := range latest {
		evs, err := s.LoadEvents(ctx, session)
		if err != nil {
			t.Fatal(err)
		}
		byPos := make(map[int64]store.EventRow, len(evs))
		for _, e := range evs {
			byPos[e.Position] = e
		}
		for pos := int64(0); pos <= last; pos++ {
			if !acked[crashAck{session, pos}] {
				t.Fatalf("%s/%d was not acknowledged but a later position was", session, pos)
			}
			e, ok := byPos[pos]
			want := crashEvent(session, pos)
			if !ok {
				t.Fatalf("acknowledged event %s/%d lost", session, pos)
			}
			if !bytes.Equal(e.Data, want.Data) || e.EventID != want.EventID || !e.Time.Equal(want.Time) {
				t.Fatalf("event %s/%d damaged: %+v", session, pos, e)
			}
		}
		if int64(len(evs)) < last+1 {
			t.Fatalf("%s: %d stored, %d acknowledged", session, len(evs), last+1)
		}
	}
}
