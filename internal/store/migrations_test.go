package store_test

import (
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/confab/confab/internal/store"
)

func TestMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string // versions and names, or the error's start
	}{
		{"ordered", fstest.MapFS{"m/0002_b.sql": file("B"), "m/0001_a.sql": file("A")}, "1:0001_a=A 2:0002_b=B"},
		{"gap", fstest.MapFS{"m/0001_a.sql": file("A"), "m/0003_c.sql": file("C")}, "migration 0003_c: expected version 2"},
		{"duplicate", fstest.MapFS{"m/0001_a.sql": file("A"), "m/0001_b.sql": file("B")}, "migration 0001_?: expected version 2"},
		{"bad name", fstest.MapFS{"m/first.sql": file("A")}, "migration first.sql: name is not NNNN_name.sql"},
		{"not sql", fstest.MapFS{"m/0001_a.txt": file("A")}, "migration 0001_a.txt: name is not NNNN_name.sql"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := store.Migrations(tt.files, "m")
			var got string
			if err != nil {
				got = err.Error()
			} else {
				var parts []string
				for _, m := range ms {
					parts = append(parts, strings.Join([]string{strconv.Itoa(m.Version), ":", m.Name, "=", m.SQL}, ""))
				}
				got = strings.Join(parts, " ")
			}
			// A duplicate's name depends on which of the two sorts second.
			if got != tt.want && got != strings.Replace(tt.want, "?", "a", 1) && got != strings.Replace(tt.want, "?", "b", 1) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
