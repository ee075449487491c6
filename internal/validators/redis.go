package validators

import "github.com/quay-tools/config-editor/internal/problem"

const groupRedis = "Redis"

func redisCheck() Check {
	return Check{Group: groupRedis, Offline: redisOffline,
		OnlineProof: "PING each Redis with its password and TLS setting"}
}

// redisOffline: each Redis object has a usable host (the schema requires
// the key and checks types and the port range).
func redisOffline(c *Context, l *problem.List) {
	for _, key := range []string{"BUILDLOGS_REDIS", "USER_EVENTS_REDIS", "PULL_METRICS_REDIS"} {
		if m := c.Map(key); m != nil {
			redisTarget(l, groupRedis, at(key), m, "host", "port", "ssl", true)
		}
	}
}
