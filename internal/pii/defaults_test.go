package pii_test

import (
	"strings"
	"testing"

	"github.com/confab/confab/internal/pii"
)

// ruleCase is a text and the part of it the rule must mask ("" = no match).
type ruleCase struct {
	text  string
	match string
}

func single(t *testing.T, idx int) *pii.Set {
	t.Helper()
	set, err := pii.Compile(pii.Defaults()[idx:idx+1], pii.Options{DefaultSpec: pii.Spec{Digits: true}})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// checkRule masks each text with one built-in rule alone and checks that
// exactly the expected part had its digits replaced.
func checkRule(t *testing.T, idx int, cases []ruleCase) {
	t.Helper()
	set := single(t, idx)
	pos, neg := 0, 0
	for _, c := range cases {
		got, hits, ok := set.Mask(c.text)
		if c.match == "" {
			neg++
			if ok {
				t.Errorf("%s: %q must not match, got %q (hits %+v)", pii.Defaults()[idx].Name, c.text, got, hits)
			}
			continue
		}
		pos++
		at := strings.Index(c.text, c.match)
		if at < 0 {
			t.Fatalf("bad case: %q not in %q", c.match, c.text)
		}
		want := c.text[:at] + pii.MaskDigits(c.match, '*') + c.text[at+len(c.match):]
		if !ok || got != want {
			t.Errorf("%s: %q: got %q, want %q", pii.Defaults()[idx].Name, c.text, got, want)
		}
	}
	if pos < 10 || neg < 10 {
		t.Fatalf("need at least 10 positive and 10 negative cases, have %d and %d", pos, neg)
	}
}

func TestDefaultCreditCards(t *testing.T) {
	checkRule(t, 0, []ruleCase{
		{"4111111111111111", "4111111111111111"},
		{"my card is 4111 1111 1111 1111 thanks", "4111 1111 1111 1111"},
		{"card: 5500-0000-0000-0004.", "5500-0000-0000-0004"},
		{"Mastercard 5105105105105100", "5105105105105100"},
		{"discover (6011111111111117)", "6011111111111117"},
		{"unionpay 6221 2600 0000 0000?", "6221 2600 0000 0000"},
		{"6445644564456445 is it", "6445644564456445"},
		{"use 6500000000000002!", "6500000000000002"},
		{"\"4012888888881881\"", "4012888888881881"},
		{"VISA4111111111111111", "4111111111111111"}, // letters count as a boundary in the reference rule
		{"mixed 4111-1111 1111-1111;", "4111-1111 1111-1111"},
		{"line one\n5454545454545454\nline three", "5454545454545454"},
		// not a card
		{"hello, no numbers here", ""},
		{"4111 1111 1111 111", ""},       // 15 digits
		{"41111111111111112", ""},        // 17 digits: inside a longer number
		{"94111111111111111", ""},        // a digit before it
		{"1234 5678 9012 3456", ""},      // no listed issuer starts with 1
		{"5611111111111111", ""},         // 56 is not a Mastercard range
		{"6222", ""},                     // too short
		{"order #4111111111111111", ""},  // after '#'
		{"id_4111111111111111", ""},      // inside a word with '_'
		{"4111111111111111/05", ""},      // followed by '/'
		{"4111--1111-1111-1111", ""},     // two dashes
		{"6220 1111 1111 1111", ""},      // 6220 is not listed
		{"date 2026-12-01 at 10:30", ""}, // a date
		{"ref 4111.1111.1111.1111", ""},  // dots are not card separators
	})
}

func TestDefaultSSN(t *testing.T) {
	checkRule(t, 1, []ruleCase{
		{"123-45-6789", "123-45-6789"},
		{"ssn 123 45 6789 ok", "123 45 6789"},
		{"my SSN is 078051120.", "078051120"},
		{"(219-09-9999)", "219-09-9999"},
		{"ssn:001-01-0001", "001-01-0001"},
		{"665-12-3456?", "665-12-3456"},
		{"667 12 3456!", "667 12 3456"},
		{"it is 899-99-9999, right", "899-99-9999"},
		{"'123-45 6789'", "123-45 6789"},
		{"SSN123456789", "123456789"},
		{"a\n555-55-5555", "555-55-5555"},
		// not an SSN
		{"no digits at all", ""},
		{"000-12-3456", ""},      // area 000
		{"666-12-3456", ""},      // area 666
		{"900-12-3456", ""},      // area 9xx
		{"123-00-4567", ""},      // group 00
		{"123-45-0000", ""},      // serial 0000
		{"123-45-678", ""},       // too short
		{"1234-56-7890", ""},     // a digit too many in front
		{"order #123456789", ""}, // after '#'
		{"2026-12-01", ""},       // a date
		{"123-45-67890", ""},     // inside a longer number
		{"x_123-45-6789", ""},    // after '_'
		{"123--45-6789", ""},     // two dashes
	})
}

func TestDefaultPhoneNANP(t *testing.T) {
	checkRule(t, 2, []ruleCase{
		{"call 555-234-5678", "555-234-5678"},
		{"(555) 234-5678", "(555) 234-5678"},
		{"+1 555 234 5678", "+1 555 234 5678"},
		{"1-800-555-0199 toll free", "1-800-555-0199"},
		{"phone: 555.234.5678.", "555.234.5678"},
		{"5552345678", "5552345678"},
		{"just 555-0199 locally", "555-0199"},
		{"+15552345678!", "+15552345678"},
		{"tel:(212)555-0100", "(212)555-0100"},
		{"\"312 555 0123\"", "312 555 0123"},
		{"1 (800) 555-0100", "1 (800) 555-0100"},
		// not a phone number
		{"nothing here", ""},
		{"123-4567", ""},          // exchange cannot start with 1
		{"555-123-4567", ""},      // nor here
		{"055-1234", ""},          // nor with 0
		{"555-123-456", ""},       // too short
		{"order #5551234567", ""}, // after '#'
		{"ref_5551234", ""},       // after '_'
		{"2026-12-01", ""},        // a date
		{"10:30-11:45", ""},       // times
		{"5551234567890", ""},     // inside a longer number
		{"555-1234/2", ""},        // followed by '/'
		{"12/01/2026", ""},        // a date with slashes
		{"price 1,234.56", ""},    // an amount
	})
}

// The seed's scenario: a card number in a sentence, masked digit by digit,
// with the three rules together in the reference's order.
func TestDefaultsTogether(t *testing.T) {
	set, err := pii.Compile(pii.Defaults(), pii.Options{DefaultSpec: pii.Spec{Digits: true}})
	if err != nil {
		t.Fatal(err)
	}
	in := "card 4111 1111 1111 1111, ssn 123-45-6789, phone (555) 234-5678, order #12345"
	got, hits, ok := set.Mask(in)
	want := "card **** **** **** ****, ssn ***-**-****, phone (***) ***-****, order #12345"
	if !ok || got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	wantHits := []struct {
		name       string
		start, end int
	}{{"GCTI_CreditCards", 5, 23}, {"GCTI_SSN", 30, 40}, {"GCTI_PhoneNANPA", 50, 62}}
	if len(hits) != len(wantHits) {
		t.Fatalf("hits %+v", hits)
	}
	for i, w := range wantHits {
		h := hits[i]
		if h.Name != w.name || h.Start != w.start || h.End != w.end || !h.Digits || h.Replaced() != "digits" {
			t.Errorf("hit %d = %+v, want %s %d-%d digits", i, h, w.name, w.start, w.end)
		}
	}
}
