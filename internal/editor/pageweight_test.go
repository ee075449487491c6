package editor

import (
	"regexp"
	"testing"
)

var assetRE = regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`)

// mainPageWeight fetches the main page and every stylesheet and script it
// links, as served, and returns the total bytes.
func mainPageWeight(tb testing.TB, ts *testServer) (total int, parts map[string]int) {
	tb.Helper()
	parts = map[string]int{}
	w := ts.do(req{method: "GET", path: "/", basic: true})
	if w.Code != 200 {
		tb.Fatalf("GET /: %d", w.Code)
	}
	page := w.Body.String()
	parts["/"] = len(page)
	for _, m := range assetRE.FindAllStringSubmatch(page, -1) {
		if _, seen := parts[m[1]]; seen {
			continue
		}
		a := ts.do(req{method: "GET", path: m[1], basic: true})
		if a.Code != 200 {
			tb.Fatalf("GET %s: %d", m[1], a.Code)
		}
		parts[m[1]] = a.Body.Len()
	}
	for _, n := range parts {
		total += n
	}
	return total, parts
}

// The budget: HTML + CSS + JS of the main page well under 100 KB.
func TestMainPageWeight(t *testing.T) {
	ts := newTestServer(t, true)
	total, parts := mainPageWeight(t, ts)
	if len(parts) < 3 {
		t.Fatalf("expected the page plus its CSS and JS, got %v", parts)
	}
	if total >= 100*1024 {
		t.Errorf("main page weighs %d bytes (%v); the budget is under 100 KB", total, parts)
	}
	t.Logf("main page weight %d bytes: %v", total, parts)
}

// BenchmarkMainPage reports the page weight (page-bytes) and the cost of
// rendering the main page.
func BenchmarkMainPage(b *testing.B) {
	ts := newTestServer(b, true)
	total, _ := mainPageWeight(b, ts)
	b.ReportAllocs()
	for b.Loop() {
		if w := ts.do(req{method: "GET", path: "/", basic: true}); w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
	b.ReportMetric(float64(total), "page-bytes")
}
