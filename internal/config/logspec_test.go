package config_test

import (
	"testing"
	"time"

	"github.com/confab/confab/internal/config"
)

func TestLogSpecs(t *testing.T) {
	segs := map[string]config.LogSegment{
		"false": {}, "": {}, "10000": {Bytes: 10000 << 10}, "64 KB": {Bytes: 64 << 10}, "10 MB": {Bytes: 10 << 20}, "2 hr": {Age: 2 * time.Hour},
	}
	for in, want := range segs {
		if got, err := config.ParseLogSegment(in); err != nil || got != want {
			t.Errorf("segment %q = %+v, %v; want %+v", in, got, err, want)
		}
	}
	exps := map[string]config.LogExpire{
		"false": {}, "10": {Files: 10}, "3 file": {Files: 3}, "7 day": {Age: 7 * 24 * time.Hour},
	}
	for in, want := range exps {
		if got, err := config.ParseLogExpire(in); err != nil || got != want {
			t.Errorf("expire %q = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"ten", "-1", "10 GB", "1.5", "10 weeks"} {
		if _, err := config.ParseLogSegment(bad); err == nil {
			t.Errorf("segment %q accepted", bad)
		}
		if _, err := config.ParseLogExpire(bad); err == nil && bad != "10 GB" {
			t.Errorf("expire %q accepted", bad)
		}
	}
	if got := config.LogOutputs(" stdout, /var/log/confab ,,"); len(got) != 2 || got[0] != "stdout" || got[1] != "/var/log/confab" {
		t.Errorf("outputs %q", got)
	}
}
