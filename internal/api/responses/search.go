package responses

import (
	"slices"
	"strings"

	"github.com/confab/confab/internal/store"
)

// Search returns the responses of all that match q, best first: every
// word of q must occur (case-insensitively) in the name, category, shortcut
// or text. A response whose shortcut is q (with or without its leading
// "/") comes first, then those whose name starts with q, then the others in
// the store's order. An empty q matches everything, in the store's order.
func Search(all []store.StandardResponse, q string) []store.StandardResponse {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return all
	}
	words := strings.Fields(q)
	short := strings.TrimPrefix(q, "/")
	type hit struct {
		r    store.StandardResponse
		rank int
	}
	var hits []hit
	for _, r := range all {
		hay := strings.ToLower(r.Name + "\n" + r.Category + "\n/" + r.Shortcut + "\n" + r.Text)
		ok := true
		for _, w := range words {
			if !strings.Contains(hay, w) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		rank := 2
		switch {
		case r.Shortcut != "" && r.Shortcut == short:
			rank = 0
		case strings.HasPrefix(strings.ToLower(r.Name), q):
			rank = 1
		}
		hits = append(hits, hit{r, rank})
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return a.rank - b.rank })
	out := make([]store.StandardResponse, len(hits))
	for i, h := range hits {
		out[i] = h.r
	}
	return out
}
