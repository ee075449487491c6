package validators

import "github.com/quay-tools/config-editor/internal/problem"

const groupRedis = "Redis"

// Redis: the build-logs, user-events and pull-metrics Redis. Online: PING
// each with its password and TLS setting (redisclient.go).
func redisCheck() Check {
	return Check{Group: groupRedis, Offline: redisOffline, Probes: redisProbes}
}

// redisOffline: each Redis object has a usable host (the schema requires
// the key and checks types and the port range).
func redisOffline(c *Context, l *problem.List) {
	for _, key := range c.Cat.Group(groupRedis).Keys() {
		if m := c.Map(key); m != nil {
			redisTarget(l, groupRedis, at(key), m, "host", "port", "ssl", true)
		}
	}
}

func redisProbes(c *Context) []Probe {
	var out []Probe
	for _, key := range c.Cat.Group(groupRedis).Keys() {
		if m := c.Map(key); m != nil {
			if e, ok := redisFrom(groupRedis, at(key), m, "host", "port", "password", "ssl"); ok {
				out = append(out, e.probe(c))
			}
		}
	}
	return out
}
