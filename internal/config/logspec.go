package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// LogSegment is a parsed [log] segment: a new log file starts when the
// current one reaches Bytes or is older than Age; both zero = one file.
type LogSegment struct {
	Bytes int64
	Age   time.Duration
}

// ParseLogSegment reads [log] segment: false, a size in KB (10000,
// 10000 KB), in MB (10 MB), or an age in hours (2 hr).
func ParseLogSegment(s string) (LogSegment, error) {
	n, unit, off, err := countAndUnit(s)
	if err != nil || off {
		return LogSegment{}, err
	}
	switch unit {
	case "", "kb":
		return LogSegment{Bytes: n << 10}, nil
	case "mb":
		return LogSegment{Bytes: n << 20}, nil
	case "hr", "hour", "hours":
		return LogSegment{Age: time.Duration(n) * time.Hour}, nil
	}
	return LogSegment{}, fmt.Errorf("segment %q: unit must be KB, MB or hr", s)
}

// LogExpire is a parsed [log] expire: keep at most Files old segments, or
// those younger than Age; both zero = keep all.
type LogExpire struct {
	Files int
	Age   time.Duration
}

// ParseLogExpire reads [log] expire: false, a count of files (10,
// 10 file) or of days (7 day).
func ParseLogExpire(s string) (LogExpire, error) {
	n, unit, off, err := countAndUnit(s)
	if err != nil || off {
		return LogExpire{}, err
	}
	switch unit {
	case "", "file", "files":
		return LogExpire{Files: int(n)}, nil
	case "day", "days":
		return LogExpire{Age: time.Duration(n) * 24 * time.Hour}, nil
	}
	return LogExpire{}, fmt.Errorf("expire %q: unit must be file or day", s)
}

// countAndUnit splits "N unit"; off is true for false/empty.
func countAndUnit(s string) (n int64, unit string, off bool, err error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "false" || s == "no" || s == "0" {
		return 0, "", true, nil
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err = strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n <= 0 || n > 1<<30 {
		return 0, "", false, fmt.Errorf("%q: must be false or a positive whole number with an optional unit", s)
	}
	return n, strings.TrimSpace(s[i:]), false, nil
}

// LogOutputs splits a [log] output option (all, standard, trace, debug)
// into its outputs: stdout, stderr or file names.
func LogOutputs(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
