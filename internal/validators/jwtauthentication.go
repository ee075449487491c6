package validators

import (
	"context"
	"encoding/pem"
	"net/http"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupJWT = "JWTAuthentication"

// JWTAuthentication: external JWT authentication. Online: the verify,
// getuser and query endpoints answer.
func jwtCheck() Check {
	return Check{Group: groupJWT, Offline: jwtOffline, Probes: jwtProbes}
}

// jwtOffline: external JWT authentication needs the verify endpoint, the
// issuer and the public key (jwt-authn.cert) that checks the tokens.
func jwtOffline(c *Context, l *problem.List) {
	jwt := c.Str("AUTHENTICATION_TYPE") == "JWT"
	why := "when AUTHENTICATION_TYPE is JWT"
	if jwt {
		c.requireKey(l, groupJWT, "JWT_VERIFY_ENDPOINT", []string{"AUTHENTICATION_TYPE", "JWT_VERIFY_ENDPOINT"}, why+"; it is the URL that checks a username and password")
		c.requireKey(l, groupJWT, "JWT_AUTH_ISSUER", []string{"AUTHENTICATION_TYPE", "JWT_AUTH_ISSUER"}, why+"; it must equal the iss claim of the tokens")
	}
	for _, k := range jwtEndpointKeys() {
		if s, ok := c.Raw[k].(string); ok {
			c.checkHTTPURL(l, groupJWT, at(k), s, c.schemaHasPattern(k))
		}
	}
	data, ok := c.Bundle.File("jwt-authn.cert")
	if !ok {
		if jwt {
			l.ErrorTags(groupJWT, filePath("jwt-authn.cert"), []string{"AUTHENTICATION_TYPE", "jwt-authn.cert"},
				"AUTHENTICATION_TYPE is JWT but the bundle has no jwt-authn.cert; upload the public key (or certificate) of the JWT issuer.")
		}
		return
	}
	if !hasPEMBlock(data, "CERTIFICATE", "PUBLIC KEY", "RSA PUBLIC KEY") {
		l.Errorf(groupJWT, filePath("jwt-authn.cert"), "jwt-authn.cert holds no PEM certificate or public key; upload the issuer's public key in PEM form.")
	} else if certs, err := ParseCertPEM(data); err == nil {
		for _, cert := range certs {
			c.checkValidity(l, groupJWT, filePath("jwt-authn.cert"), "jwt-authn.cert", cert)
		}
	}
}

// hasPEMBlock reports whether data holds a PEM block of one of the types.
func hasPEMBlock(data []byte, types ...string) bool {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return false
		}
		for _, t := range types {
			if block.Type == t {
				return true
			}
		}
	}
}

func jwtProbes(c *Context) []Probe {
	if c.Str("AUTHENTICATION_TYPE") != "JWT" {
		return nil
	}
	var out []Probe
	for _, key := range jwtEndpointKeys() {
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

// jwtEndpointKeys are the endpoints of external JWT authentication, in the
// order Quay calls them.
func jwtEndpointKeys() []string {
	return []string{"JWT_VERIFY_ENDPOINT", "JWT_GETUSER_ENDPOINT", "JWT_QUERY_ENDPOINT"}
}
