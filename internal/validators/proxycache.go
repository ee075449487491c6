package validators

import "github.com/quay-tools/config-editor/internal/problem"

const groupProxyCache = "ProxyCache"

func proxyCacheCheck() Check { return Check{Group: groupProxyCache, Offline: proxyCacheOffline} }

// proxyCacheOffline: blob download through the proxy needs the proxy cache.
func proxyCacheOffline(c *Context, l *problem.List) {
	if !wrongType(c.Raw, "FEATURE_PROXY_CACHE") {
		c.dependsOn(l, groupProxyCache, "FEATURE_PROXY_CACHE_BLOB_DOWNLOAD", "FEATURE_PROXY_CACHE")
	}
}
