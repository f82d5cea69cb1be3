package agent

import "testing"

// BenchmarkDecodeRequest is the agent socket's decoding of one send
// request, the frame every agent message arrives in.
func BenchmarkDecodeRequest(b *testing.B) {
	data := []byte(`{"id":"c42","op":"send","sessionId":"00048aAPEQJ8007U","text":"cfb:1:2:_3 Hello, I have a question about my last order.","msgType":"text","visibility":"ALL"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ferr := decodeRequest(data); ferr != nil {
			b.Fatal(ferr)
		}
	}
}
