// Command loadtest fires POST /api/v1/config/validate?mode=offline at a
// running editor with a fixed concurrency for a fixed time and prints the
// throughput and latency percentiles.
//
//	go run ./hack/loadtest -url http://127.0.0.1:8080 -p PASSWORD -c 16 -d 10s [-bundle file.json]
//
// Next to the figures it prints the machine's load average (before and
// after the run) and core count: a figure taken on a busy machine says
// little about a quiet one. The body is a realistic ConfigBundle (or -bundle). Every answer must be
// 200 with a JSON array; anything else is counted and reported as an error.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/quay-tools/config-editor/internal/benchenv"
)

const defaultBundle = `{"config.yaml": {
  "SERVER_HOSTNAME": "quay.example.com", "PREFERRED_URL_SCHEME": "http",
  "DB_URI": "postgresql://quay:pw@db.example.com/quay",
  "AUTHENTICATION_TYPE": "Database",
  "BUILDLOGS_REDIS": {"host": "redis.example.com", "port": 6379},
  "USER_EVENTS_REDIS": {"host": "redis.example.com", "port": 6379},
  "DISTRIBUTED_STORAGE_CONFIG": {"default": ["S3Storage", {"s3_bucket": "quay", "storage_path": "/registry", "s3_access_key": "a", "s3_secret_key": "b", "host": "s3.example.com"}]},
  "DISTRIBUTED_STORAGE_PREFERENCE": ["default"],
  "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": [],
  "DEFAULT_TAG_EXPIRATION": "2w", "TAG_EXPIRATION_OPTIONS": ["0s", "1d", "1w", "2w", "4w"],
  "SECRET_KEY": "0123456789abcdef0123456789abcdef", "DATABASE_SECRET_KEY": "0123456789abcdef0123456789abcdef",
  "SETUP_COMPLETE": true, "FEATURE_DIRECT_LOGIN": true
}}`

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "editor base URL")
	user := flag.String("u", "quayconfig", "user")
	pass := flag.String("p", os.Getenv("CONFIG_EDITOR_PASSWORD"), "password (or env CONFIG_EDITOR_PASSWORD)")
	conc := flag.Int("c", 16, "concurrent clients")
	dur := flag.Duration("d", 10*time.Second, "duration")
	mode := flag.String("mode", "offline", "validation mode")
	bundleFile := flag.String("bundle", "", "ConfigBundle JSON file to post (default: a realistic built-in one)")
	flag.Parse()

	body := []byte(defaultBundle)
	if *bundleFile != "" {
		b, err := os.ReadFile(*bundleFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		body = b
	}
	url := *base + "/api/v1/config/validate?mode=" + *mode
	tr := &http.Transport{MaxIdleConns: *conc * 2, MaxIdleConnsPerHost: *conc * 2}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	// One checked request first: a wrong password or URL fails loudly.
	if lat, err := once(client, url, *user, *pass, body); err != nil {
		fmt.Fprintf(os.Stderr, "first request failed: %v\n", err)
		os.Exit(1)
	} else {
		fmt.Printf("first request: %v\n", lat)
	}

	loadBefore := benchenv.LoadAverage()
	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()
	var mu sync.Mutex
	var lats []time.Duration
	errs := 0
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < *conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			localErrs := 0
			var localFirst error
			for ctx.Err() == nil {
				lat, err := once(client, url, *user, *pass, body)
				if err != nil {
					if ctx.Err() != nil {
						break
					}
					localErrs++
					if localFirst == nil {
						localFirst = err
					}
					continue
				}
				local = append(local, lat)
			}
			mu.Lock()
			lats = append(lats, local...)
			errs += localErrs
			if firstErr == nil {
				firstErr = localFirst
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	pct := func(p float64) time.Duration {
		if len(lats) == 0 {
			return 0
		}
		i := int(float64(len(lats)-1) * p)
		return lats[i]
	}
	fmt.Printf("concurrency %d, %v: %d ok, %d errors\n", *conc, elapsed.Round(time.Millisecond), len(lats), errs)
	fmt.Printf("throughput %.0f req/s  (load average %s before, %s after; %d cores)\n", float64(len(lats))/elapsed.Seconds(),
		loadBefore, benchenv.LoadAverage(), runtime.NumCPU())
	fmt.Printf("latency p50 %v  p90 %v  p99 %v  max %v\n", pct(.50).Round(10*time.Microsecond),
		pct(.90).Round(10*time.Microsecond), pct(.99).Round(10*time.Microsecond), pct(1).Round(10*time.Microsecond))
	if errs > 0 {
		fmt.Printf("first error: %v\n", firstErr)
		os.Exit(1)
	}
}

func once(client *http.Client, url, user, pass string, body []byte) (time.Duration, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/json")
	t := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	lat := time.Since(t)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d: %.200s", resp.StatusCode, data)
	}
	var problems []json.RawMessage
	if err := json.Unmarshal(data, &problems); err != nil || problems == nil {
		return 0, fmt.Errorf("answer is not a JSON array: %.200s", data)
	}
	return lat, nil
}
