package testenv

import (
	"errors"
	"os"
	"testing"
)

func TestStartRetryingOnAddressInUse(t *testing.T) {
	calls := 0
	var dirs []string
	v, e, err := startRetrying("retry", func(e *env) (*int, error) {
		calls++
		dirs = append(dirs, e.dir)
		if calls < 3 {
			return nil, errors.New("redis exited before ready\nbind: Address already in use")
		}
		n := 42
		return &n, nil
	})
	if err != nil || *v != 42 || calls != 3 {
		t.Fatalf("v=%v err=%v calls=%d", v, err, calls)
	}
	defer os.RemoveAll(e.dir)
	for _, d := range dirs[:2] {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("failed attempt's dir %s not removed", d)
		}
	}

	calls = 0
	_, _, err = startRetrying("retry", func(e *env) (*int, error) {
		calls++
		return nil, errors.New("some other failure")
	})
	if err == nil || calls != 1 {
		t.Errorf("other errors must not be retried: err=%v calls=%d", err, calls)
	}
}

func TestMissingSkipsOutsideCIAndFailsInCI(t *testing.T) {
	miss := &missingError{what: "thing"}
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		ft := &fakeTB{TB: t}
		func() {
			defer func() { _ = recover() }()
			fail(ft, "x", miss)
		}()
		if ci == "true" && (!ft.fatal || ft.skipped) {
			t.Errorf("CI=true: fatal=%v skipped=%v", ft.fatal, ft.skipped)
		}
		if ci == "" && (ft.fatal || !ft.skipped) {
			t.Errorf("CI unset: fatal=%v skipped=%v", ft.fatal, ft.skipped)
		}
	}
}

type fakeTB struct {
	testing.TB
	fatal, skipped bool
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(string, ...any) {
	f.skipped = true
	panic("skip")
}
func (f *fakeTB) Fatalf(string, ...any) {
	f.fatal = true
	panic("fatal")
}
