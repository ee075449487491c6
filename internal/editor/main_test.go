package editor

import (
	"testing"

	"github.com/quay-tools/config-editor/internal/testenv"
)

// TestMain stops the private test servers (Redis for the online page test)
// when the package's tests end.
func TestMain(m *testing.M) { testenv.Main(m) }
