package console_test

import (
	"testing"

	"github.com/confab/confab/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }
