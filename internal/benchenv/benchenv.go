// Package benchenv describes the machine next to measured figures: a figure
// means little without the load average and core count it was taken under.
package benchenv

import (
	"os"
	"strings"
)

// LoadAverage is the 1, 5 and 15 minute load average from /proc/loadavg
// ("0.52 0.61 0.70"), or "unknown" where there is none.
func LoadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return parseLoadavg(data)
}

func parseLoadavg(data []byte) string {
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
