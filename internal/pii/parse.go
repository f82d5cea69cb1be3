package pii

import (
	"strings"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// MaxPatternLen bounds a rule's pattern, in bytes.
const MaxPatternLen = 4096

// maxRepeat bounds the counts of {n,m} quantifiers, which the engine
// expands when it compiles.
const maxRepeat = 1000

// syntaxError is a fault in a pattern at a character position.
type syntaxError struct {
	pos    int // rune index
	reason string
}

// translation is a pattern rewritten for regexp2, with what the scan learnt.
type translation struct {
	expr string
	// ends are the byte offsets in the source where a token ends, with
	// the group depth there: the places a prefix can be cut and closed to
	// find where the engine's compiler fails.
	ends []tokenEnd
}

type tokenEnd struct {
	at    int // byte offset just after the token
	start int // byte offset of the token
	depth int // open groups after the token
}

// posixClasses maps Perl's [:name:] bracket classes to regexp2 class items
// (Perl's definitions for Unicode text).
var posixClasses = map[string]string{
	"alpha":  `\p{L}`,
	"digit":  `\d`,
	"alnum":  `\p{L}\p{Nd}`,
	"upper":  `\p{Lu}`,
	"lower":  `\p{Ll}`,
	"space":  `\s`,
	"blank":  `\t\x20`,
	"punct":  `\p{P}`,
	"xdigit": `0-9A-Fa-f`,
	"word":   `\w`,
	"cntrl":  `\p{Cc}`,
	"print":  `\P{C}`,
	"graph":  `\p{L}\p{M}\p{N}\p{P}\p{S}`,
	"ascii":  `\x00-\x7F`,
}

// negPosixClasses are the negated forms ([:^name:]) that have a single
// regexp2 equivalent.
var negPosixClasses = map[string]string{
	"alpha": `\P{L}`, "digit": `\D`, "upper": `\P{Lu}`, "lower": `\P{Ll}`,
	"space": `\S`, "punct": `\P{P}`, "word": `\W`, "cntrl": `\P{Cc}`, "print": `\p{C}`,
}

// translate checks a Perl-5 pattern and rewrites what regexp2 reads
// differently: POSIX bracket classes, (?P<name>...) groups, (?P=name)
// back references and a literal '[' inside a class (which regexp2 would
// take for class subtraction). Constructs neither engine can run here
// (recursion, branch reset, \K) are refused.
func translate(src string) (translation, *syntaxError) {
	var out strings.Builder
	out.Grow(len(src) + 16)
	var tr translation
	var stack []int // byte offsets of open '('
	// canRepeat says whether a quantifier may follow (something precedes it).
	canRepeat := false
	at := func(i int) int { return utf8.RuneCountInString(src[:i]) }
	fail := func(i int, reason string) (translation, *syntaxError) {
		return translation{}, &syntaxError{pos: at(i), reason: reason}
	}
	i := 0
	for i < len(src) {
		start := i
		c := src[i]
		switch {
		case c == '\\':
			n, err := escapeLen(src, i)
			if err != "" {
				return fail(i, err)
			}
			switch src[i+1] {
			case 'K':
				return fail(i, `\K (keep) is not supported`)
			case 'h':
				out.WriteString(`[\t\x20\xA0]`)
			case 'H':
				out.WriteString(`[^\t\x20\xA0]`)
			default:
				out.WriteString(src[i : i+n])
			}
			i += n
			canRepeat = true
		case c == '[':
			n, cls, err := class(src, i)
			if err != nil {
				return translation{}, err
			}
			out.WriteString(cls)
			i += n
			canRepeat = true
		case c == '(':
			n, open, rewrite, err := groupOpen(src, i)
			if err != "" {
				return fail(i, err)
			}
			out.WriteString(rewrite)
			i += n
			if open {
				stack = append(stack, start)
				canRepeat = false
			} else {
				// (?i) and comments: what precedes them stays repeatable
				// only in Perl's eyes; regexp2 agrees for comments. Keep it
				// simple: nothing to repeat after a flag group.
				canRepeat = canRepeat && strings.HasPrefix(src[start:], "(?#")
			}
		case c == ')':
			if len(stack) == 0 {
				return fail(i, "unmatched )")
			}
			stack = stack[:len(stack)-1]
			out.WriteByte(')')
			i++
			canRepeat = true
		case c == '|':
			out.WriteByte('|')
			i++
			canRepeat = false
		case c == '*' || c == '+' || c == '?':
			if !canRepeat {
				return fail(i, "quantifier "+string(c)+" has nothing to repeat")
			}
			out.WriteByte(c)
			i++
			// a lazy or possessive suffix
			if i < len(src) && (src[i] == '?' || src[i] == '+') {
				out.WriteByte(src[i])
				i++
			}
			canRepeat = false
		case c == '{':
			if n, lo, hi, ok := counted(src, i); ok {
				if !canRepeat {
					return fail(i, "quantifier {} has nothing to repeat")
				}
				if hi >= 0 && lo > hi {
					return fail(i, "quantifier {n,m} has n greater than m")
				}
				if lo > maxRepeat || hi > maxRepeat {
					return fail(i, "quantifier count above 1000")
				}
				out.WriteString(src[i : i+n])
				i += n
				if i < len(src) && (src[i] == '?' || src[i] == '+') {
					out.WriteByte(src[i])
					i++
				}
				canRepeat = false
			} else { // a literal brace, as in Perl
				out.WriteString(`\{`)
				i++
				canRepeat = true
			}
		default:
			_, n := utf8.DecodeRuneInString(src[i:])
			out.WriteString(src[i : i+n])
			i += n
			canRepeat = true
		}
		tr.ends = append(tr.ends, tokenEnd{at: i, start: start, depth: len(stack)})
	}
	if len(stack) > 0 {
		return fail(stack[len(stack)-1], "unclosed (")
	}
	tr.expr = out.String()
	return tr, nil
}

// escapeLen returns the length in bytes of the escape starting at src[i]
// (a backslash), or why it is malformed.
func escapeLen(src string, i int) (int, string) {
	if i+1 >= len(src) {
		return 0, "pattern ends with a lone backslash"
	}
	c := src[i+1]
	if c >= utf8.RuneSelf {
		_, n := utf8.DecodeRuneInString(src[i+1:])
		return 1 + n, ""
	}
	var closer byte
	switch c {
	case 'p', 'P', 'x', 'N', 'g':
		if i+2 < len(src) && src[i+2] == '{' {
			closer = '}'
		}
	case 'k':
		if i+2 < len(src) {
			switch src[i+2] {
			case '<':
				closer = '>'
			case '{':
				closer = '}'
			case '\'':
				closer = '\''
			}
		}
		if closer == 0 {
			return 0, `\k needs a group name in <>, {} or ''`
		}
	}
	if closer == 0 {
		if (c == 'p' || c == 'P') && i+2 >= len(src) {
			return 0, `\p needs a property name`
		}
		if c == 'p' || c == 'P' {
			return 3, "" // one-letter property such as \pL
		}
		return 2, ""
	}
	end := strings.IndexByte(src[i+3:], closer)
	if end < 0 {
		return 0, "escape \\" + string(c) + " is not closed with " + string(closer)
	}
	return 3 + end + 1, ""
}

// class scans a bracket class at src[i] and returns its length and its
// regexp2 form.
func class(src string, i int) (int, string, *syntaxError) {
	var b strings.Builder
	b.WriteByte('[')
	j := i + 1
	if j < len(src) && src[j] == '^' {
		b.WriteByte('^')
		j++
	}
	first := true
	for {
		if j >= len(src) {
			return 0, "", &syntaxError{pos: utf8.RuneCountInString(src[:i]), reason: "unclosed ["}
		}
		c := src[j]
		switch {
		case c == ']' && !first:
			b.WriteByte(']')
			return j + 1 - i, b.String(), nil
		case c == ']': // a leading ']' is literal in Perl
			b.WriteString(`\]`)
			j++
		case c == '\\':
			n, err := escapeLen(src, j)
			if err != "" {
				return 0, "", &syntaxError{pos: utf8.RuneCountInString(src[:j]), reason: err}
			}
			b.WriteString(src[j : j+n])
			j += n
		case c == '[' && j+1 < len(src) && src[j+1] == ':':
			end := strings.Index(src[j+2:], ":]")
			if end < 0 {
				b.WriteString(`\[`)
				j++
				break
			}
			name := src[j+2 : j+2+end]
			neg := strings.HasPrefix(name, "^")
			var repl string
			var ok bool
			if neg {
				repl, ok = negPosixClasses[name[1:]]
			} else {
				repl, ok = posixClasses[name]
			}
			if !ok {
				return 0, "", &syntaxError{pos: utf8.RuneCountInString(src[:j]), reason: "unknown POSIX class [:" + name + ":]"}
			}
			b.WriteString(repl)
			j += 2 + end + 2
		case c == '[':
			b.WriteString(`\[`)
			j++
		default:
			_, n := utf8.DecodeRuneInString(src[j:])
			b.WriteString(src[j : j+n])
			j += n
		}
		first = false
	}
}

// groupOpen scans what follows '(' at src[i]. open reports whether it opens
// a group that a ')' closes (flag groups and comments do not stay open).
func groupOpen(src string, i int) (n int, open bool, rewrite string, err string) {
	rest := src[i:]
	if !strings.HasPrefix(rest, "(?") {
		return 1, true, "(", ""
	}
	if len(rest) < 3 {
		return 0, false, "", "group (? is not complete"
	}
	switch rest[2] {
	case ':', '=', '!', '>':
		return 3, true, rest[:3], ""
	case '#':
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return 0, false, "", "comment (?# is not closed"
		}
		return end + 1, false, "", ""
	case '|':
		return 0, false, "", "branch reset (?| is not supported"
	case 'R', '&', '+', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return 0, false, "", "recursion and subroutine calls are not supported"
	case '<':
		if len(rest) > 3 && (rest[3] == '=' || rest[3] == '!') {
			return 4, true, rest[:4], ""
		}
		return named(rest, 3, '>', "(?<")
	case '\'':
		return named(rest, 3, '\'', "(?'")
	case 'P':
		if len(rest) > 3 {
			switch rest[3] {
			case '<':
				n, open, _, err := named(rest, 4, '>', "")
				if err != "" {
					return 0, false, "", err
				}
				return n, open, "(?<" + rest[4:n], ""
			case '=':
				end := strings.IndexByte(rest, ')')
				if end < 5 {
					return 0, false, "", "back reference (?P= needs a group name and )"
				}
				return end + 1, false, `\k<` + rest[4:end] + ">", ""
			}
		}
		return 0, false, "", "group (?P must be (?P<name>...) or (?P=name)"
	}
	// Inline flags: (?imsx-imsx) or (?imsx-imsx:...)
	j := 2
	for j < len(rest) && strings.IndexByte("imsxn-", rest[j]) >= 0 {
		j++
	}
	if j > 2 && j < len(rest) {
		switch rest[j] {
		case ')':
			return j + 1, false, rest[:j+1], ""
		case ':':
			return j + 1, true, rest[:j+1], ""
		}
	}
	return 0, false, "", "unknown group construct (?" + string(rest[2])
}

// named scans a group name from rest[from] up to closer.
func named(rest string, from int, closer byte, prefix string) (int, bool, string, string) {
	end := strings.IndexByte(rest[from:], closer)
	if end <= 0 {
		return 0, false, "", "group name is empty or not closed"
	}
	name := rest[from : from+end]
	for k := 0; k < len(name); k++ {
		c := name[k]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || k > 0 && c >= '0' && c <= '9') {
			return 0, false, "", "group name " + quoteName(name) + " must be letters, digits and _"
		}
	}
	n := from + end + 1
	return n, true, prefix + rest[from:n], ""
}

func quoteName(s string) string { return "<" + s + ">" }

// counted reports whether src[i:] starts with a counted quantifier {n},
// {n,} or {n,m} (Perl reads anything else as literal braces); hi is -1 for
// no upper bound.
func counted(src string, i int) (n, lo, hi int, ok bool) {
	j := i + 1
	num := func() (int, bool) {
		k := j
		v := 0
		for j < len(src) && src[j] >= '0' && src[j] <= '9' {
			if v < 1<<20 {
				v = v*10 + int(src[j]-'0')
			}
			j++
		}
		return v, j > k
	}
	lo, okLo := num()
	if !okLo {
		return 0, 0, 0, false
	}
	hi = lo
	if j < len(src) && src[j] == ',' {
		j++
		var okHi bool
		hi, okHi = num()
		if !okHi {
			hi = -1
		}
	}
	if j >= len(src) || src[j] != '}' {
		return 0, 0, 0, false
	}
	return j + 1 - i, lo, hi, true
}

// compilePattern translates and compiles a pattern; a fault is reported
// at the character position where it is.
func compilePattern(src string) (*regexp2.Regexp, *syntaxError) {
	if src == "" {
		return nil, &syntaxError{pos: 0, reason: "pattern is empty"}
	}
	if len(src) > MaxPatternLen {
		return nil, &syntaxError{pos: utf8.RuneCountInString(src[:MaxPatternLen]), reason: "pattern is longer than 4096 bytes"}
	}
	if !utf8.ValidString(src) {
		for i := 0; i < len(src); {
			r, n := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && n == 1 {
				return nil, &syntaxError{pos: utf8.RuneCountInString(src[:i]), reason: "pattern is not valid UTF-8"}
			}
			i += n
		}
	}
	tr, serr := translate(src)
	if serr != nil {
		return nil, serr
	}
	re, err := regexp2.Compile(tr.expr, regexp2.OptionMaxBacktrackingStackSize(100000))
	if err == nil {
		if m, _ := re.FindStringMatch(""); m != nil {
			return nil, &syntaxError{pos: 0, reason: "pattern matches the empty text"}
		}
		return re, nil
	}
	// The scan accepted what the compiler refuses: find the first token
	// whose prefix, its groups closed, no longer compiles.
	reason := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
	if k := strings.Index(reason, " in `"); k >= 0 {
		reason = reason[:k]
	}
	for _, e := range tr.ends {
		prefix := src[:e.at] + strings.Repeat(")", e.depth)
		ptr, perr := translate(prefix)
		if perr != nil {
			continue
		}
		if _, err := regexp2.Compile(ptr.expr); err != nil {
			return nil, &syntaxError{pos: utf8.RuneCountInString(src[:e.start]), reason: reason}
		}
	}
	return nil, &syntaxError{pos: utf8.RuneCountInString(src), reason: reason}
}
