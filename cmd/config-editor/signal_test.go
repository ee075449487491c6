package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitExit waits for a started process, killing it and failing the test
// if it has not exited within bound (a generous bound: the process is
// expected to exit at once).
func waitExit(t *testing.T, cmd *exec.Cmd, bound time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(bound):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%v still running after %s", cmd.Args, bound)
		return -1
	}
}

// acceptNotifier listens on loopback, accepts connections and never
// answers; accepted is closed at the first connection.
func acceptNotifier(t *testing.T) (addr string, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			once.Do(func() { close(ch) })
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), ch
}

// TestCommandsStopPromptly runs the built binary: a named pipe (or a
// device, or a directory holding one) given as the bundle is refused at
// once, naming the path; online validation stuck on a server that never
// answers stops on SIGTERM or SIGINT with 143 or 130 and says so; the
// editor shuts down on SIGTERM.
func TestCommandsStopPromptly(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "bundle")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	fifoYAML := filepath.Join(dir, "config.yaml")
	if err := syscall.Mkfifo(fifoYAML, 0o600); err != nil {
		t.Fatal(err)
	}
	withPipe := writeBundle(t, validConfig)
	if err := syscall.Mkfifo(filepath.Join(withPipe, "ssl.cert"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("special files refused", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"validate", "-c", fifo}, fifo + " is a named pipe (FIFO)"},
			{[]string{"validate", "-c", fifoYAML}, fifoYAML + " is a named pipe (FIFO)"},
			{[]string{"print", "-c", fifo}, fifo + " is a named pipe (FIFO)"},
			{[]string{"registry", "-c", fifo}, fifo + " is a named pipe (FIFO)"},
			{[]string{"editor", "-p", "x", "-c", fifo, "--addr", "127.0.0.1:0"}, fifo + " is a named pipe (FIFO)"},
			{[]string{"validate", "-c", "/dev/null"}, "/dev/null is a character device"},
			{[]string{"validate", "-c", withPipe}, "ssl.cert is a named pipe (FIFO), not a regular file"},
		} {
			cmd := exec.Command(bin, tc.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			code := waitExit(t, cmd, time.Minute)
			if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), exitUsage, tc.want)
			}
		}
	})

	for _, sig := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{{syscall.SIGTERM, "SIGTERM", 143}, {syscall.SIGINT, "SIGINT", 130}} {
		t.Run("online validation stopped by "+sig.name, func(t *testing.T) {
			addr, accepted := acceptNotifier(t)
			host, port, _ := net.SplitHostPort(addr)
			cfg := strings.Replace(validConfig, "postgresql://quay:pw@127.0.0.1:1/quay", "postgresql://quay:pw@"+host+":"+port+"/quay", 1)
			cmd := exec.Command(bin, "validate", "-c", writeBundle(t, cfg), "--mode", "online", "--timeout", "10m", "--groups", "Database")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-accepted:
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
				t.Fatalf("the probe never connected; stderr %s", stderr.String())
			}
			if err := cmd.Process.Signal(sig.sig); err != nil {
				t.Fatal(err)
			}
			code := waitExit(t, cmd, 30*time.Second)
			if code != sig.code || !strings.Contains(stderr.String(), "interrupted by "+sig.name) {
				t.Errorf("exit %d, stderr %q; want %d and the signal named", code, stderr.String(), sig.code)
			}
			if strings.Contains(stdout.String(), "error(s)") {
				t.Errorf("an interrupted run printed a verdict:\n%s", stdout.String())
			}
		})
	}

	t.Run("editor shuts down on SIGTERM", func(t *testing.T) {
		addr := freePort(t)
		cmd := exec.Command(bin, "editor", "-p", "x", "--addr", addr)
		var stderr lockedBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cl := &http.Client{Timeout: 5 * time.Second}
		deadline := time.Now().Add(time.Minute)
		for {
			resp, err := cl.Get("http://" + addr + "/healthz")
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("no /healthz: %v\n%s", err, stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := waitExit(t, cmd, time.Minute); code != exitOK || !strings.Contains(stderr.String(), "shutting down") {
			t.Errorf("exit %d after SIGTERM: %s", code, stderr.String())
		}
	})
}

// TestSignalAbandonsACommandThatIgnoresIt: a command stuck in something
// that does not watch its context (a blocking system call) does not keep
// the process alive: after the grace period runMain returns 143.
func TestSignalAbandonsACommandThatIgnoresIt(t *testing.T) {
	ready := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	commands["zz-stuck"] = command{summary: "test", run: func(ctx context.Context, _ []string, _, _ io.Writer) int {
		close(ready)
		<-release // ignores ctx
		return exitOK
	}}
	defer delete(commands, "zz-stuck")
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() { done <- runMain([]string{"zz-stuck"}, io.Discard, &stderr) }()
	<-ready // runMain has registered for the signal before the command runs
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 143 || !strings.Contains(stderr.String(), "still busy") || !strings.Contains(stderr.String(), "interrupted by SIGTERM (exit 143)") {
			t.Errorf("exit %d, stderr %q", code, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("runMain did not return after SIGTERM")
	}
}
