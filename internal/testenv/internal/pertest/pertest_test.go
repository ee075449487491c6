// Package pertest checks testenv without testenv.Main: every call starts a
// private instance that the calling test's Cleanup stops.
package pertest

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/quay-tools/config-editor/internal/testenv"
)

func TestPerTestInstancesAreStopped(t *testing.T) {
	var addrs, dirs []string
	t.Run("start", func(t *testing.T) {
		r1 := testenv.Redis(t)
		r2 := testenv.Redis(t)
		if r1.Port == r2.Port {
			t.Fatalf("without Main each call must start its own instance; both on %d", r1.Port)
		}
		c := testenv.Clair(t) // also starts a Postgres, stopped after Clair
		pg := testenv.Postgres(t)
		addrs = append(addrs, r1.Addr(), r2.TLSAddr(), c.Addr, pg.Addr())
		dirs = append(dirs, r1.Dir, r2.Dir, c.Dir)
	})
	for _, a := range addrs {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after the test", a)
		}
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still exists after the test (err=%v)", d, err)
		}
	}
	testenv.Shutdown()
}
