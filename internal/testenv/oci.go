package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// OCI registry clients and the conformance suite, for registry mode's
// tests. hack/testservers/install.sh puts them in place.

// CraneVersion and OCIConformanceVersion are what install.sh builds into
// the cache.
const (
	CraneVersion          = "v0.22.1"
	OCIConformanceVersion = "v0.0.0-20260831232431-97274622c111"
)

// Crane returns the path of crane (go-containerregistry).
func Crane(t testing.TB) string {
	t.Helper()
	return cachedBin(t, "crane "+CraneVersion, filepath.Join(CacheDir(), "crane-"+CraneVersion, "bin", "crane"))
}

// OCIConformance returns the path of the OCI distribution-spec conformance
// test binary (configured by OCI_* environment variables).
func OCIConformance(t testing.TB) string {
	t.Helper()
	return cachedBin(t, "OCI conformance suite "+OCIConformanceVersion,
		filepath.Join(CacheDir(), "oci-conformance-"+OCIConformanceVersion, "bin", "conformance.test"))
}

// Skopeo returns the path of skopeo (Debian package skopeo).
func Skopeo(t testing.TB) string {
	t.Helper()
	p, err := findBin("skopeo", "/usr/bin/skopeo")
	if err != nil {
		fail(t, "skopeo", &missingError{what: "skopeo (Debian package skopeo)"})
	}
	return p
}

func cachedBin(t testing.TB, what, path string) string {
	t.Helper()
	if st, err := os.Stat(path); err != nil || st.Mode()&0o111 == 0 {
		fail(t, what, &missingError{what: what + " (" + path + ")"})
	}
	return path
}
