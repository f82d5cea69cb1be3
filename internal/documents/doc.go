// Package documents holds what the adapters share about stored files: the
// HTTP form of a download (Serve), the reading of a raw or multipart upload
// body (UploadBody), and the retention rule that purges old documents on
// the injected clock (Janitor). The bytes themselves live in the store
// (store.Documents) and are streamed, never held whole in memory.
//
// Concurrency: Serve and UploadBody work on the request they are given; a
// Janitor is safe for concurrent use and runs one purge at a time.
package documents
