package logattr

import (
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/confab/confab/internal/kv"
)

// Kind is how a user-data value is printed.
type Kind uint8

// Kinds of [log-filter-data] filter types.
const (
	Copy      Kind = iota // the value as is (cut at StringMax)
	Hide                  // the key with a masked value
	Skip                  // the pair left out
	HideFirst             // the first N characters masked
	HideLast              // the last N characters masked
)

// Filter type names.
const (
	hiddenValue = "****"
	maskChar    = '*'
)

// FilterType is one filter: a Kind and, for HideFirst and HideLast, N.
type FilterType struct {
	Kind Kind
	N    int
}

// ParseFilterType reads copy, hide, skip, hide-first-N or hide-last-N.
func ParseFilterType(s string) (FilterType, error) {
	switch s {
	case "copy":
		return FilterType{Kind: Copy}, nil
	case "hide":
		return FilterType{Kind: Hide}, nil
	case "skip":
		return FilterType{Kind: Skip}, nil
	}
	for prefix, k := range map[string]Kind{"hide-first-": HideFirst, "hide-last-": HideLast} {
		if n, ok := strings.CutPrefix(s, prefix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v < 1 {
				return FilterType{}, fmt.Errorf("filter type %q: N must be a positive whole number", s)
			}
			return FilterType{Kind: k, N: v}, nil
		}
	}
	return FilterType{}, fmt.Errorf("filter type %q: must be copy, hide, skip, hide-first-N or hide-last-N", s)
}

// Policy is what may be printed.
type Policy struct {
	// PrintSize is how many characters of a message text are printed; 0
	// prints only "[truncated from size=N]" (message-log-print-size).
	PrintSize int
	// HideData masks every user-data value whose key has no filter of its
	// own in Keys (hide-attached-data); otherwise Default applies to them.
	HideData bool
	Default  FilterType
	// Keys are the per-key filters of [log-filter-data].
	Keys map[string]FilterType
	// StringMax cuts copied values longer than this many characters
	// (string-max-print-size); 0 means no cut.
	StringMax int
}

// Filter applies a Policy to log attributes.
type Filter struct {
	p atomic.Pointer[Policy]
}

// New returns a Filter with p.
func New(p Policy) *Filter {
	f := &Filter{}
	f.Set(p)
	return f
}

// Set replaces the policy.
func (f *Filter) Set(p Policy) {
	keys := make(map[string]FilterType, len(p.Keys))
	for k, v := range p.Keys {
		keys[k] = v
	}
	p.Keys = keys
	f.p.Store(&p)
}

var hideAll = &Policy{HideData: true}

func (f *Filter) policy() *Policy {
	if f == nil {
		return hideAll
	}
	return f.p.Load()
}

// Text returns the attribute key=text for a chat message text: its first
// PrintSize characters and, when cut, "[truncated from size=N]".
func (f *Filter) Text(key, text string) slog.Attr {
	return slog.Any(key, textValue{p: f.policy(), text: text})
}

// Data returns the attribute key={...} for user data or event attributes,
// each value filtered by its key (nested values inherit the filter of the
// nearest key that has one).
func (f *Filter) Data(key string, data kv.Map) slog.Attr {
	return slog.Any(key, dataValue{p: f.policy(), data: data})
}

// Value returns the attribute for one user-data pair, filtered by its key;
// a skipped key gives an empty attribute, which slog leaves out.
func (f *Filter) Value(key, value string) slog.Attr {
	p := f.policy()
	ft, _ := p.filterFor(key, p.base())
	if ft.Kind == Skip {
		return slog.Attr{}
	}
	return slog.String(key, p.apply(ft, value))
}

type textValue struct {
	p    *Policy
	text string
}

func (v textValue) LogValue() slog.Value {
	n := utf8.RuneCountInString(v.text)
	if v.p.PrintSize <= 0 {
		return slog.StringValue("[truncated from size=" + strconv.Itoa(n) + "]")
	}
	if n <= v.p.PrintSize {
		return slog.StringValue(v.text)
	}
	cut := v.text
	i := 0
	for k := range v.text {
		if i == v.p.PrintSize {
			cut = v.text[:k]
			break
		}
		i++
	}
	return slog.StringValue(cut + "[truncated from size=" + strconv.Itoa(n) + "]")
}

type dataValue struct {
	p    *Policy
	data kv.Map
}

func (v dataValue) LogValue() slog.Value {
	return slog.GroupValue(v.p.group(v.data, v.p.base(), 0)...)
}

// base is the filter of keys without one of their own.
func (p *Policy) base() FilterType {
	if p.HideData {
		return FilterType{Kind: Hide}
	}
	return p.Default
}

func (p *Policy) filterFor(key string, inherited FilterType) (FilterType, bool) {
	if ft, ok := p.Keys[key]; ok {
		return ft, true
	}
	return inherited, false
}

const maxDepth = 16

func (p *Policy) group(m kv.Map, inherited FilterType, depth int) []slog.Attr {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		ft, _ := p.filterFor(k, inherited)
		if ft.Kind == Skip {
			continue
		}
		switch v := m[k].(type) {
		case kv.Map:
			if depth >= maxDepth {
				out = append(out, slog.String(k, hiddenValue))
				continue
			}
			out = append(out, slog.Attr{Key: k, Value: slog.GroupValue(p.group(v, ft, depth+1)...)})
		case string:
			out = append(out, slog.String(k, p.apply(ft, v)))
		default:
			out = append(out, slog.String(k, p.apply(ft, fmt.Sprint(v))))
		}
	}
	return out
}

// apply prints one value under a filter.
func (p *Policy) apply(ft FilterType, v string) string {
	switch ft.Kind {
	case Copy:
		if p.StringMax > 0 && utf8.RuneCountInString(v) > p.StringMax {
			r := []rune(v)
			return string(r[:p.StringMax]) + "[truncated from size=" + strconv.Itoa(len(r)) + "]"
		}
		return v
	case HideFirst, HideLast:
		r := []rune(v)
		n := min(ft.N, len(r))
		if ft.Kind == HideFirst {
			for i := 0; i < n; i++ {
				r[i] = maskChar
			}
		} else {
			for i := len(r) - n; i < len(r); i++ {
				r[i] = maskChar
			}
		}
		return string(r)
	}
	return hiddenValue
}
