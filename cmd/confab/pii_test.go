package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPIICommand(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		args = append([]string{args[0], "--data-dir", dir}, args[1:]...)
		err := piiCmd(args, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	// A pattern that does not compile is refused naming rule and position.
	_, err := run("add", "--id", "acct", "--name", "Account", `ACC-(\d{6}`)
	if err == nil || !strings.Contains(err.Error(), `pii rule 1 (id "acct", name "Account"): pattern at position 4: unclosed (`) {
		t.Fatalf("bad pattern: %v", err)
	}
	if _, err := run("add", "--id", "acct", "--name", "Account", "--spec", "half", `x`); err == nil || !strings.Contains(err.Error(), "spec") {
		t.Fatalf("bad spec: %v", err)
	}
	if out, err := run("add", "--id", "acct", "--name", "Account", "--spec", "digits-keep-last-2", `(?<=ACC-)\d{6}`); err != nil || !strings.Contains(out, "added") {
		t.Fatalf("add: %s %v", out, err)
	}
	if _, err := run("add", "--id", "acct", "--name", "Again", `y`); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("duplicate: %v", err)
	}
	out, err := run("list")
	if err != nil || !strings.Contains(out, "stored    acct") || !strings.Contains(out, "GCTI_CreditCards") || !strings.Contains(out, "in force (apply-config=mix, apply-area=never): stored rules") {
		t.Fatalf("list:\n%s %v", out, err)
	}
	// mix with a stored rule: the stored rule alone applies.
	out, err = run("test", "card 4111111111111111 acct ACC-123456")
	if err != nil || !strings.HasPrefix(out, "card 4111111111111111 acct ACC-****56\n") {
		t.Fatalf("test under mix:\n%s %v", out, err)
	}
	ini := filepath.Join(dir, "c.ini")
	os.WriteFile(ini, []byte("[transcript-cleanup]\napply-config = cfg\ndefault-repchar = #\n"), 0o600)
	out, err = run("test", "--config", ini, "card 4111111111111111 acct ACC-123456")
	if err != nil || !strings.HasPrefix(out, "card ################ acct ACC-123456\n") || !strings.Contains(out, "GCTI_CreditCards") {
		t.Fatalf("test under cfg:\n%s %v", out, err)
	}
	if out, err := run("remove", "acct"); err != nil || !strings.Contains(out, "removed") {
		t.Fatalf("remove: %s %v", out, err)
	}
	if _, err := run("remove", "acct"); err == nil {
		t.Fatal("removing twice succeeded")
	}
	if _, err := run("add", "--id", "x"); !errors.Is(err, errUsage) {
		t.Fatalf("no pattern: %v", err)
	}
}
