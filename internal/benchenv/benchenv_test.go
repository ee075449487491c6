package benchenv

import (
	"os"
	"regexp"
	"testing"
)

func TestParseLoadavg(t *testing.T) {
	for in, want := range map[string]string{
		"0.52 0.61 0.70 2/345 6789\n": "0.52 0.61 0.70",
		"1.00 2.00 3.00":              "1.00 2.00 3.00",
		"0.52 0.61":                   "unknown",
		"":                            "unknown",
	} {
		if got := parseLoadavg([]byte(in)); got != want {
			t.Errorf("parseLoadavg(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadAverage(t *testing.T) {
	got := LoadAverage()
	if _, err := os.Stat("/proc/loadavg"); err != nil {
		if got != "unknown" {
			t.Fatalf("no /proc/loadavg, got %q, want unknown", got)
		}
		return
	}
	if !regexp.MustCompile(`^\d+\.\d+ \d+\.\d+ \d+\.\d+$`).MatchString(got) {
		t.Fatalf("LoadAverage() = %q, want three decimals", got)
	}
}
