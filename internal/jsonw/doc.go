// Package jsonw appends JSON to byte slices without reflection, producing
// the bytes encoding/json's Marshal produces for the same values: strings
// escaped the same way (HTML characters, U+2028/U+2029, invalid UTF-8 as
// U+FFFD), maps with sorted keys, times in RFC 3339 with nanoseconds. The
// hot encoders of the message path (agent frames, stored events) use it;
// their tests compare their output with encoding/json's.
//
// Concurrency: the functions are pure; they only append to dst.
package jsonw
