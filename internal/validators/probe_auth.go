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

// Online proofs of external authentication: the JWT endpoints answer, and
// Keystone issues a token to the admin user (v2 or v3), the password in the
// JSON body.

func init() {
	probes[groupJWT] = jwtProbes
	probes[groupKeystone] = keystoneProbes
}

func jwtProbes(c *Context) []Probe {
	if c.Str("AUTHENTICATION_TYPE") != "JWT" {
		return nil
	}
	var out []Probe
	for _, key := range []string{"JWT_VERIFY_ENDPOINT", "JWT_GETUSER_ENDPOINT", "JWT_QUERY_ENDPOINT"} {
		raw := c.Str(key)
		if raw == "" {
			continue
		}
		key := key
		out = append(out, Probe{Name: key, Run: func(ctx context.Context, l *problem.List) { c.probeJWTEndpoint(ctx, l, key, raw) }})
	}
	return out
}

// probeJWTEndpoint: any HTTP answer but 404 and 5xx proves the endpoint is
// there (without user credentials it should refuse, typically 401).
func (c *Context) probeJWTEndpoint(ctx context.Context, l *problem.List, key, raw string) {
	u, cfg, err := c.tlsFor(raw)
	if err != nil {
		return // the offline rules report the URL
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	resp, err := noRedirectClient(ctx, cfg).Do(req)
	if err != nil {
		l.ErrorTags(groupJWT, at(key), []string{key}, "%s %s could not be reached: %s.", key, raw, netWords(err))
		return
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		l.ErrorTags(groupJWT, at(key), []string{key}, "%s %s answered 404 Not Found; check the path of the endpoint.", key, raw)
	case resp.StatusCode >= 500:
		l.WarnTags(groupJWT, at(key), []string{key}, "%s %s answered %d %s; the authentication service may be failing.", key, raw, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
}

func keystoneProbes(c *Context) []Probe {
	if c.Str("AUTHENTICATION_TYPE") != "Keystone" {
		return nil
	}
	for _, k := range []string{"KEYSTONE_AUTH_URL", "KEYSTONE_ADMIN_USERNAME", "KEYSTONE_ADMIN_PASSWORD"} {
		if c.Str(k) == "" {
			return nil // reported offline
		}
	}
	return []Probe{{Name: "Keystone", Run: c.probeKeystone}}
}

func (c *Context) probeKeystone(ctx context.Context, l *problem.List) {
	raw := c.Str("KEYSTONE_AUTH_URL")
	user, pass, tenant := c.Str("KEYSTONE_ADMIN_USERNAME"), c.Str("KEYSTONE_ADMIN_PASSWORD"), c.Str("KEYSTONE_ADMIN_TENANT")
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
			"password": map[string]any{"user": map[string]any{"name": user, "domain": map[string]any{"id": "default"}, "password": pass}}}}
		if tenant != "" {
			auth["scope"] = map[string]any{"project": map[string]any{"name": tenant, "domain": map[string]any{"id": "default"}}}
		}
		body = map[string]any{"auth": auth}
	} else {
		target, want = joinURL(raw, "tokens"), http.StatusOK
		auth := map[string]any{"passwordCredentials": map[string]any{"username": user, "password": pass}}
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
