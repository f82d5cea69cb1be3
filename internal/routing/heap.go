package routing

// heap is a binary min-heap that tells each item its index, so that an
// item can be fixed or removed in O(log n). The zero value is not ready:
// call init.
type heap[T any] struct {
	items []T
	less  func(a, b T) bool
	set   func(x T, i int) // records x's index
}

func (h *heap[T]) init(less func(a, b T) bool, set func(x T, i int)) {
	h.less, h.set = less, set
}

func (h *heap[T]) len() int { return len(h.items) }

func (h *heap[T]) push(x T) {
	h.items = append(h.items, x)
	h.set(x, len(h.items)-1)
	h.up(len(h.items) - 1)
}

// pop removes and returns the least item.
func (h *heap[T]) pop() T {
	x := h.items[0]
	h.remove(0)
	return x
}

// remove takes out the item at index i.
func (h *heap[T]) remove(i int) {
	n := len(h.items) - 1
	x := h.items[i]
	if i != n {
		h.swap(i, n)
	}
	var zero T
	h.items[n] = zero
	h.items = h.items[:n]
	if i != n {
		if !h.down(i) {
			h.up(i)
		}
	}
	h.set(x, -1)
}

// fix restores the order after the item at i changed.
func (h *heap[T]) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

// first returns the least item for which ok holds, visiting items in
// order but stopping after maxSkip refusals (nil-like zero value then).
func (h *heap[T]) first(ok func(T) bool) T {
	var zero T
	if len(h.items) == 0 {
		return zero
	}
	if ok(h.items[0]) {
		return h.items[0]
	}
	// Best-first walk over the heap's tree: a small frontier ordered by
	// the heap's own less.
	frontier := []int{1, 2}
	for seen := 0; len(frontier) > 0 && seen < maxSkip; seen++ {
		best := -1
		for j, i := range frontier {
			if i < len(h.items) && (best < 0 || h.less(h.items[i], h.items[frontier[best]])) {
				best = j
			}
		}
		if best < 0 {
			break
		}
		i := frontier[best]
		frontier = append(frontier[:best], frontier[best+1:]...)
		if ok(h.items[i]) {
			return h.items[i]
		}
		frontier = append(frontier, 2*i+1, 2*i+2)
	}
	return zero
}

func (h *heap[T]) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.set(h.items[i], i)
	h.set(h.items[j], j)
}

func (h *heap[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(h.items[i], h.items[p]) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *heap[T]) down(i int) bool {
	start := i
	n := len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(h.items[r], h.items[l]) {
			m = r
		}
		if !h.less(h.items[m], h.items[i]) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}
