package pii

// The reference's three default rules. Its published copy lost every '|'
// and the blanks inside brackets; these are the expressions its rule names
// describe, with the same structure: a match must start at the beginning of
// the text or after a blank, a letter or punctuation from
// (),.:;?!"'` and end at the end or before one of those (so a number inside
// a longer number, or after '#', '/', '_' or '-', is left alone), with
// atomic groups for both boundaries.
const (
	boundaryBefore = "(?>^|(?<=[\\s[:alpha:](),.:;?!\"'`]))"
	boundaryAfter  = "(?>$|(?=[\\s[:alpha:](),.:;?!\"'`]))"

	// PatternCreditCard: 16-digit numbers of the issuers the reference
	// lists (Visa 4, Mastercard 51–55, Discover 6011, 644–649 and 65,
	// UnionPay 6221–6229), in groups of four with an optional blank or
	// dash between groups.
	PatternCreditCard = boundaryBefore +
		`(?>4\d{3}|5[1-5]\d{2}|6011|622[1-9]|64[4-9]\d|65\d{2})[- ]?\d{4}[- ]?\d{4}[- ]?\d{4}` +
		boundaryAfter
	// PatternSSN: US Social Security numbers, AAA-GG-SSSS with optional
	// blanks or dashes; area 000, 666 and 900–999, group 00 and serial
	// 0000 are never issued and do not match.
	PatternSSN = boundaryBefore +
		`(?!000|666|9)\d{3}[- ]?(?!00)\d{2}[- ]?(?!0000)\d{4}` +
		boundaryAfter
	// PatternPhoneNANP: North American Numbering Plan numbers, with an
	// optional +1 or 1 country code and an optional (bracketed) area code;
	// area code and exchange start with 2–9; groups may be separated by a
	// blank, a dash or a dot.
	PatternPhoneNANP = boundaryBefore +
		`(?:\+?1[- .]?)?(?:\(?[2-9][0-9]{2}\)?[- .]?)?[2-9][0-9]{2}[- .]?[0-9]{4}` +
		boundaryAfter
)

// Defaults returns the built-in rules, in the reference's order. Their
// replacement is the set's default spec.
func Defaults() []Rule {
	return []Rule{
		{ID: "1", Name: "GCTI_CreditCards", Description: "Credit card", Pattern: PatternCreditCard, MinDigitRun: 16},
		{ID: "2", Name: "GCTI_SSN", Description: "Social Security number", Pattern: PatternSSN, MinDigitRun: 9},
		{ID: "3", Name: "GCTI_PhoneNANPA", Description: "Phone number using the North American Numbering Plan", Pattern: PatternPhoneNANP, MinDigitRun: 7},
	}
}
