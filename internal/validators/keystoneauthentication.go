package validators

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupKeystone = "KeystoneAuthentication"

// KeystoneAuthentication: OpenStack Keystone authentication. Online:
// Keystone issues a token to the admin user (v2 or v3).
func keystoneCheck() Check {
	return Check{Group: groupKeystone, Offline: keystoneOffline, Probes: keystoneProbes}
}

// keystoneOffline: Keystone authentication needs the URL and an admin
// identity; the API version should match the URL.
func keystoneOffline(c *Context, l *problem.List) {
	if c.Str("AUTHENTICATION_TYPE") != "Keystone" {
		return
	}
	why := "when AUTHENTICATION_TYPE is Keystone"
	for _, k := range append(keystoneLoginKeys(), "KEYSTONE_ADMIN_TENANT") {
		c.requireKey(l, groupKeystone, k, []string{"AUTHENTICATION_TYPE", k}, why)
	}
	u, ok := c.Raw["KEYSTONE_AUTH_URL"].(string)
	if !ok || !c.checkHTTPURL(l, groupKeystone, at("KEYSTONE_AUTH_URL"), u, c.schemaHasPattern("KEYSTONE_AUTH_URL")) {
		return
	}
	v := AsString(c.Config["KEYSTONE_AUTH_VERSION"])
	trimmed := strings.TrimSuffix(u, "/")
	switch {
	case v == "3" && strings.HasSuffix(trimmed, "/v2.0"):
		l.WarnTags(groupKeystone, at("KEYSTONE_AUTH_URL"), []string{"KEYSTONE_AUTH_URL", "KEYSTONE_AUTH_VERSION"},
			"KEYSTONE_AUTH_URL ends in /v2.0 but KEYSTONE_AUTH_VERSION is 3; use the /v3 URL or set the version to 2.")
	case v == "2" && strings.HasSuffix(trimmed, "/v3"):
		l.WarnTags(groupKeystone, at("KEYSTONE_AUTH_URL"), []string{"KEYSTONE_AUTH_URL", "KEYSTONE_AUTH_VERSION"},
			"KEYSTONE_AUTH_URL ends in /v3 but KEYSTONE_AUTH_VERSION is 2; use the /v2.0 URL or set the version to 3.")
	}
}

func keystoneProbes(c *Context) []Probe {
	if c.Str("AUTHENTICATION_TYPE") != "Keystone" {
		return nil
	}
	for _, k := range keystoneLoginKeys() {
		if c.Str(k) == "" {
			return nil // reported offline
		}
	}
	return []Probe{{Name: "Keystone", Run: c.probeKeystone}}
}

func (c *Context) probeKeystone(ctx context.Context, l *problem.List) {
	raw := c.Str("KEYSTONE_AUTH_URL")
	user, pass, tenant := c.Str("KEYSTONE_ADMIN_USERNAME"), c.Secret("KEYSTONE_ADMIN_PASSWORD"), c.Str("KEYSTONE_ADMIN_TENANT")
	v := c.Str("KEYSTONE_AUTH_VERSION")
	if v == "" {
		v = "2"
	}
	var (
		target string
		body   any
		want   int
	)
	if strings.HasPrefix(v, "3") {
		target, want = joinURL(raw, "auth/tokens"), http.StatusCreated
		auth := map[string]any{"identity": map[string]any{"methods": []string{"password"},
			"password": map[string]any{"user": map[string]any{"name": user, "domain": map[string]any{"id": "default"}, "password": pass.Reveal()}}}}
		if tenant != "" {
			auth["scope"] = map[string]any{"project": map[string]any{"name": tenant, "domain": map[string]any{"id": "default"}}}
		}
		body = map[string]any{"auth": auth}
	} else {
		target, want = joinURL(raw, "tokens"), http.StatusOK
		auth := map[string]any{"passwordCredentials": map[string]any{"username": user, "password": pass.Reveal()}}
		if tenant != "" {
			auth["tenantName"] = tenant
		}
		body = map[string]any{"auth": auth}
	}
	u, cfg, err := c.tlsFor(target)
	if err != nil {
		return
	}
	data, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := noRedirectClient(ctx, cfg).Do(req)
	tags := []string{"KEYSTONE_AUTH_URL"}
	if err != nil {
		l.ErrorTags(groupKeystone, at("KEYSTONE_AUTH_URL"), tags, "Keystone at %s could not be reached: %s.", target, netWords(err))
		return
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == want:
	case resp.StatusCode == http.StatusUnauthorized:
		l.ErrorTags(groupKeystone, at("KEYSTONE_ADMIN_PASSWORD"), []string{"KEYSTONE_ADMIN_USERNAME", "KEYSTONE_ADMIN_PASSWORD", "KEYSTONE_ADMIN_TENANT"},
			"Keystone at %s refused to authenticate %s (401 Unauthorized): check KEYSTONE_ADMIN_USERNAME, KEYSTONE_ADMIN_PASSWORD and KEYSTONE_ADMIN_TENANT.", target, user)
	case resp.StatusCode == http.StatusNotFound:
		l.ErrorTags(groupKeystone, at("KEYSTONE_AUTH_URL"), tags,
			"Keystone at %s answered 404 Not Found: KEYSTONE_AUTH_URL must end with the API version (/v2.0 or /v3) matching KEYSTONE_AUTH_VERSION %s.", target, v)
	default:
		l.ErrorTags(groupKeystone, at("KEYSTONE_AUTH_URL"), tags, "Keystone at %s answered %d %s to a token request (version %s); expected %d.", target, resp.StatusCode, http.StatusText(resp.StatusCode), v, want)
	}
}

// keystoneLoginKeys are what the probe needs to log in to Keystone.
func keystoneLoginKeys() []string {
	return []string{"KEYSTONE_AUTH_URL", "KEYSTONE_ADMIN_USERNAME", "KEYSTONE_ADMIN_PASSWORD"}
}
