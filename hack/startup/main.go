// Command startup measures the editor's start-up time (from exec until
// /healthz answers 200) and its resident memory after a second idle, over
// several runs, and prints each run and the median. It polls from this
// process every half millisecond, so the figure is not inflated by
// spawning a client per attempt.
//
//	go run ./hack/startup -bin bin/config-editor [-runs 7] [-- editor flags]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "bin/config-editor", "editor binary")
	runs := flag.Int("runs", 7, "number of runs")
	flag.Parse()
	var ups []time.Duration
	var rsss []int
	for i := 1; i <= *runs; i++ {
		up, rss, err := once(*bin, flag.Args())
		if err != nil {
			fmt.Fprintln(os.Stderr, "startup:", err)
			os.Exit(1)
		}
		fmt.Printf("run %d: start-up %.1f ms, idle RSS %.1f MiB\n", i, ms(up), float64(rss)/1024)
		ups = append(ups, up)
		rsss = append(rsss, rss)
	}
	sort.Slice(ups, func(i, j int) bool { return ups[i] < ups[j] })
	sort.Ints(rsss)
	fmt.Printf("median of %d: start-up %.1f ms, idle RSS %.1f MiB\n", *runs, ms(ups[len(ups)/2]), float64(rsss[len(rsss)/2])/1024)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func once(bin string, extra []string) (time.Duration, int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cl := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := "http://" + addr + "/healthz"

	cmd := exec.Command(bin, append([]string{"editor", "--addr", addr, "--log-level", "error"}, extra...)...)
	cmd.Env = append(os.Environ(), "CONFIG_EDITOR_PASSWORD=startup-measure")
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := cl.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			return 0, 0, fmt.Errorf("editor exited before answering: %v", err)
		case <-ctx.Done():
			return 0, 0, fmt.Errorf("no answer from %s in 10 s", url)
		case <-time.After(500 * time.Microsecond):
		}
	}
	up := time.Since(start)
	time.Sleep(time.Second)
	rss, err := rssKiB(cmd.Process.Pid)
	return up, rss, err
}

func rssKiB(pid int) (int, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
