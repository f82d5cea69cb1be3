package leakcheck_test

import (
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/leakcheck"
)

func TestCheckReportsAndClears(t *testing.T) {
	stop := make(chan struct{})
	go parked(stop)
	err := leakcheck.Check(50 * time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "parked") {
		t.Fatalf("Check with a parked goroutine = %v, want a report naming it", err)
	}
	close(stop)
	if err := leakcheck.Check(5 * time.Second); err != nil {
		t.Fatalf("Check after the goroutine ended: %v", err)
	}
}

func parked(stop chan struct{}) { <-stop }
