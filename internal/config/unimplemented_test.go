package config_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/confab/confab/internal/config"
)

func TestUnimplemented(t *testing.T) {
	ini := `[settings]
flex-push-enabled = true
limit-for-sessions = 10
transcript-cleanup-mask = #
user-register-timeout = 10
flex-push-enabled = false
no-such-option = 1

[no-such-section]
x = 1

[inactivity-control]
enabled = true
`
	got := config.Unimplemented("test.ini", []byte(ini))
	var want []string
	for _, o := range config.Options() {
		for _, k := range []string{"settings/flex-push-enabled", "settings/user-register-timeout", "transcript-cleanup/default-repchar", "inactivity-control/enabled"} {
			if o.Section+"/"+o.Name == k && !o.Implemented {
				switch k {
				case "transcript-cleanup/default-repchar":
					want = append(want, "[settings] transcript-cleanup-mask")
				default:
					want = append(want, "["+o.Section+"] "+o.Name)
				}
			}
		}
	}
	// File order: the catalogue loop above is not; compare as sets, and
	// check there are no repeats.
	slices.Sort(want)
	sorted := slices.Clone(got)
	slices.Sort(sorted)
	if !slices.Equal(sorted, want) {
		t.Errorf("Unimplemented = %q, want %q", got, want)
	}
	if slices.Contains(got, "[settings] limit-for-sessions") {
		t.Error("an implemented option was reported")
	}
	if len(want) == 0 {
		t.Skip("every option of the sample is implemented; pick others")
	}
	line := config.UnimplementedWarning(got)
	for _, o := range got {
		if !strings.Contains(line, o) {
			t.Errorf("warning %q does not name %s", line, o)
		}
	}
	if config.UnimplementedWarning(nil) != "" {
		t.Error("a warning for nothing")
	}
}
