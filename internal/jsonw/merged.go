package jsonw

import (
	"maps"
	"slices"
)

// MarshalMerged returns the bytes MarshalMap gives for base with every key
// of over set on top of it (over's value wins), without building that
// merged map: a record write of attached data (the session's user data
// plus a few keys) encodes it without first copying the user data.
// TestMarshalMergedMatchesMarshalMap compares the bytes.
func MarshalMerged(base, over map[string]any) ([]byte, error) {
	var stack [32]string
	keys := stack[:0]
	for k := range base {
		if _, ok := over[k]; !ok {
			keys = append(keys, k)
		}
	}
	keys = slices.AppendSeq(keys, maps.Keys(over))
	slices.Sort(keys)
	dst := make([]byte, 0, 16+mapSize(base)+mapSize(over))
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = String(dst, k)
		dst = append(dst, ':')
		v, ok := over[k]
		if !ok {
			v = base[k]
		}
		if dst, ok = Value(dst, v); !ok {
			merged := maps.Clone(base)
			if merged == nil {
				merged = map[string]any{}
			}
			maps.Copy(merged, over)
			return MarshalMap(merged)
		}
	}
	return append(dst, '}'), nil
}
