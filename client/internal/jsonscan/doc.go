// Package jsonscan reads JSON without reflection for the client packages'
// hot decoders (client/chatv2's answers and push frames, client/agent's
// frames). It is deliberately partial: a Scanner handles what those
// decoders meet in practice — objects with exact, unescaped keys, plain
// strings, integers, booleans — and gives up (Failed) on anything else
// (escaped keys, numbers with fractions or exponents, keys that only match a
// field case-insensitively, duplicate keys). A decoder that gives up decodes
// the whole input again with encoding/json, so every input ends with exactly
// what encoding/json would have produced, or its error; the fast path only
// ever returns what encoding/json would (the callers' fuzz targets compare
// the two).
//
// A Scanner copies its input into one string at Reset, and every string it
// returns is a substring of it: one allocation per input however many
// strings it holds, and the caller may reuse its byte buffer at once.
//
// Concurrency: a Scanner is used by one goroutine at a time; the package
// has no state of its own.
package jsonscan
