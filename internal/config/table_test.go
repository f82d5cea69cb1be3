package config_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/confab/confab/internal/config"
)

func TestWriteTable(t *testing.T) {
	opts := []config.Option{
		{Section: "settings", Name: "flex-disconnect-timeout", Default: "45", Range: "integer 1–1728000 (seconds)", Effect: config.Immediate, Implemented: true},
		{Section: "ports", Name: "webapi", Default: "127.0.0.1:8080", Range: "host:port (port 0–65535)", Effect: config.Restart},
		{Section: "admin", Name: "token", Default: "", Range: "any text", Effect: config.Restart, Implemented: true},
		{Section: "inactivity-control", Name: "message-alert", Default: strings.Repeat("x", 60), Range: "any\ttext", Effect: config.Immediate},
	}
	var buf bytes.Buffer
	if err := config.WriteTable(&buf, opts); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := []string{
		"SECTION               OPTION                   DEFAULT                                   RANGE                        EFFECT     IMPLEMENTED",
		"[settings]            flex-disconnect-timeout  45                                        integer 1–1728000 (seconds)  immediate  yes",
		"[ports]               webapi                   127.0.0.1:8080                            host:port (port 0–65535)     restart    no",
		`[admin]               token                    ""                                        any text                     restart    yes`,
		"[inactivity-control]  message-alert            " + strings.Repeat("x", 39) + "…  any text                     immediate  no",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(lines), buf.String())
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d\ngot  %q\nwant %q", i, lines[i], want[i])
		}
	}

	// The whole catalogue lines up: every column starts at the same rune
	// offset on every line.
	buf.Reset()
	if err := config.WriteTable(&buf, config.Options()); err != nil {
		t.Fatal(err)
	}
	all := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(all) != len(config.Options())+1 {
		t.Fatalf("%d lines for %d options", len(all), len(config.Options()))
	}
	header := all[0]
	for _, col := range []string{"OPTION", "DEFAULT", "RANGE", "EFFECT", "IMPLEMENTED"} {
		at := utf8.RuneCountInString(header[:strings.Index(header, col)])
		for _, l := range all[1:] {
			r := []rune(l)
			if at >= len(r) || r[at-1] != ' ' || r[at-2] != ' ' || r[at] == ' ' {
				t.Errorf("column %s (at %d) misaligned in %q", col, at, l)
			}
		}
	}
}
