package validators

import (
	"context"
	"testing"
)

// Offline mode opens no socket: a config pointing every service at
// counting listeners leaves them untouched.
func TestOfflineOpensNoSocket(t *testing.T) {
	var g gauge
	holes := newHoles(t, &g)
	cfg := blackholeConfig(holes)
	cfg["BUILD_MANAGER"] = []any{"ephemeral", map[string]any{"ORCHESTRATOR": map[string]any{"REDIS_HOST": "127.0.0.1", "REDIS_PORT": holes[1].port}}}
	cfg["DATA_MODEL_CACHE_CONFIG"] = map[string]any{"engine": "redis", "redis_config": map[string]any{"primary": map[string]any{"host": "127.0.0.1", "port": holes[2].port}}}
	b := onlineBundle(t, cfg, map[string][]byte{"clair-config.yaml": []byte("indexer:\n  connstring: host=127.0.0.1 port=" + holes[0].addr[len("127.0.0.1:"):] + " user=clair dbname=clair\n")})
	for _, mode := range []Mode{Offline, ""} {
		ps := Validate(context.Background(), b, Options{Mode: mode})
		if len(ps) == 0 {
			t.Fatal("no problems at all: was anything validated?")
		}
	}
	for i, h := range holes {
		if n := h.accepted.Load(); n != 0 {
			t.Errorf("offline validation opened %d connections to hole %d", n, i)
		}
	}
	// the same bundle online does dial them (the check above can fail)
	runBounded(t, b, Options{Mode: Online, Timeout: 200_000_000})
	for i, h := range holes {
		if h.accepted.Load() == 0 {
			t.Errorf("online validation did not dial hole %d", i)
		}
	}
	waitClosed(t, holes)
}
