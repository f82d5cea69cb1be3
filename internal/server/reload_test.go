package server_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/server"
)

// TestReloadAppliesImmediateOptions changes the file of a running node and
// reloads it (as SIGHUP does): immediate options reach the engine, a bad
// file keeps the last good configuration.
func TestReloadAppliesImmediateOptions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "confab.ini")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("[settings]\nsession-password-enforce = false\nclosed-session-grace = 30\n")
	cfg, _, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Options{Config: cfg, ConfigPath: path, DataDir: filepath.Join(dir, "data"), Listen: "127.0.0.1:0", Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	if st := srv.Engine().Settings(); st.PasswordEnforce || st.ClosedGrace != 30*time.Second {
		t.Fatalf("initial engine settings = %+v", st)
	}
	write("[settings]\nsession-password-enforce = true\nclosed-session-grace = 90\n")
	if err := srv.Reload(); err != nil {
		t.Fatal(err)
	}
	if st := srv.Engine().Settings(); !st.PasswordEnforce || st.ClosedGrace != 90*time.Second {
		t.Fatalf("engine settings after reload = %+v", st)
	}
	write("[settings]\nclosed-session-grace = -1\n")
	if err := srv.Reload(); err == nil {
		t.Fatal("reload of an invalid file reported no error")
	}
	if st := srv.Engine().Settings(); st.ClosedGrace != 90*time.Second || srv.Config().Settings.ClosedSessionGrace != 90*time.Second {
		t.Fatalf("a bad file changed the settings: %+v", st)
	}
}
