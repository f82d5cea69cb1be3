package config

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// maxCell bounds the width of the default column; longer defaults (the
// idle messages) are cut with an ellipsis. Options keeps them whole.
const maxCell = 40

// WriteTable writes opts as an aligned text table with the columns
// SECTION, OPTION, DEFAULT, RANGE, EFFECT and IMPLEMENTED, one option per
// line in the order given. Empty defaults show as "". It is what
// "confab config --all" and "confab config --unimplemented" print.
func WriteTable(w io.Writer, opts []Option) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SECTION\tOPTION\tDEFAULT\tRANGE\tEFFECT\tIMPLEMENTED")
	for _, o := range opts {
		impl := "no"
		if o.Implemented {
			impl = "yes"
		}
		fmt.Fprintf(tw, "[%s]\t%s\t%s\t%s\t%s\t%s\n",
			cell(o.Section), cell(o.Name), cell(defaultCell(o.Default)), cell(o.Range), o.Effect, impl)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("config: write table: %w", err)
	}
	return nil
}

func defaultCell(s string) string {
	if s == "" {
		return `""`
	}
	if utf8.RuneCountInString(s) > maxCell {
		r := []rune(s)
		return string(r[:maxCell-1]) + "…"
	}
	return s
}

// cell keeps tabs and line breaks from breaking the columns.
func cell(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}
