// Package storestats serves GET /debug/store on the health listener: the
// cumulative counters of the store's commit path (store.WriterStats: batches,
// flush and commit times, batch sizes, pages written, WAL size, checkpoints)
// and the Go runtime's figures (GC pauses, the GC's and its assists' CPU
// time, how long goroutines waited runnable for a CPU, the goroutine
// count), as one JSON document. `confab bench`
// samples it every second and turns the differences into its latency
// timeline.
//
// Concurrency: the handler is safe for concurrent use; it reads atomics
// and the runtime's metrics and holds no lock of its own.
package storestats
