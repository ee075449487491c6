package validators

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/quay-tools/config-editor/internal/problem"
	"go.yaml.in/yaml/v3"
)

const groupSecurityScanner = "SecurityScanner"

var layerSizeRE = regexp.MustCompile(`(?i)^[0-9]+(\.[0-9]+)?\s*([KMGTP]i?B?|B)?$`)

// SecurityScanner: Clair v4. Online: GET index_state on Clair's indexer,
// signed with the PSK, and connect to every database of clair-config.yaml.
func securityScannerCheck() Check {
	return Check{Group: groupSecurityScanner, Offline: securityScannerOffline, Probes: clairProbes}
}

// securityScannerOffline: with the scanner on, Quay needs Clair's URL; the
// PSK is the base64 key Clair signs with. The PSK is never quoted.
func securityScannerOffline(c *Context, l *problem.List) {
	enabled := c.on("FEATURE_SECURITY_SCANNER")
	if old, _ := c.Raw["SECURITY_SCANNER_ENDPOINT"].(string); enabled && old != "" && !c.Has("SECURITY_SCANNER_V4_ENDPOINT") {
		// Quay's start-up validation takes either endpoint; with only the
		// Clair v2 one, Quay starts with a scanner that does nothing
		l.WarnTags(groupSecurityScanner, at("SECURITY_SCANNER_V4_ENDPOINT"), []string{"FEATURE_SECURITY_SCANNER", "SECURITY_SCANNER_ENDPOINT", "SECURITY_SCANNER_V4_ENDPOINT"},
			"FEATURE_SECURITY_SCANNER is on with only SECURITY_SCANNER_ENDPOINT (Clair v2), which Quay no longer uses: Quay starts, but nothing is scanned; set SECURITY_SCANNER_V4_ENDPOINT to Clair v4's URL.")
	} else if enabled {
		if c.requireKey(l, groupSecurityScanner, "SECURITY_SCANNER_V4_ENDPOINT", []string{"FEATURE_SECURITY_SCANNER", "SECURITY_SCANNER_V4_ENDPOINT"},
			"when FEATURE_SECURITY_SCANNER is on; set it to Clair's URL, for example http://clair:8080") {
			c.checkHTTPURL(l, groupSecurityScanner, at("SECURITY_SCANNER_V4_ENDPOINT"), c.Str("SECURITY_SCANNER_V4_ENDPOINT"), true)
		}
	}
	if psk, ok := c.Raw["SECURITY_SCANNER_V4_PSK"].(string); ok && psk != "" && enabled {
		if _, err := base64.StdEncoding.DecodeString(strings.TrimSpace(psk)); err != nil {
			l.Errorf(groupSecurityScanner, at("SECURITY_SCANNER_V4_PSK"),
				"SECURITY_SCANNER_V4_PSK is not valid base64; copy the base64 key from Clair's configuration (auth.psk.key).")
		}
	}
	if s, ok := c.Raw["SECURITY_SCANNER_V4_INDEX_MAX_LAYER_SIZE"].(string); ok && s != "" && enabled && !layerSizeRE.MatchString(s) {
		l.Errorf(groupSecurityScanner, at("SECURITY_SCANNER_V4_INDEX_MAX_LAYER_SIZE"),
			"SECURITY_SCANNER_V4_INDEX_MAX_LAYER_SIZE must be a size such as 8G or 500MiB; got %q.", s)
	}
	if !enabled && !wrongType(c.Raw, "FEATURE_SECURITY_SCANNER") {
		c.dependsOn(l, groupSecurityScanner, "FEATURE_SECURITY_NOTIFICATIONS", "FEATURE_SECURITY_SCANNER")
		c.dependsOn(l, groupSecurityScanner, "FEATURE_SECURITY_SCANNER_NOTIFY_ON_NEW_INDEX", "FEATURE_SECURITY_SCANNER")
	}
}

const clairIndexState = "/indexer/api/v1/index_state"

// clairProbes: with the scanner on, Clair's indexer answers index_state
// (signed with the PSK when there is one); when the bundle carries
// clair-config.yaml, each distinct database connstring in it is dialled too.
func clairProbes(c *Context) []Probe {
	if !c.Bool("FEATURE_SECURITY_SCANNER") {
		return nil
	}
	var out []Probe
	endpoint := strings.TrimRight(strings.TrimSpace(c.Str("SECURITY_SCANNER_V4_ENDPOINT")), "/")
	if u, err := url.Parse(endpoint); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil {
		out = append(out, Probe{Name: "Clair at " + u.Host, Run: func(ctx context.Context, l *problem.List) { probeClair(ctx, c, u, l) }})
	}
	if data, ok := c.Bundle.File("clair-config.yaml"); ok {
		out = append(out, clairDBProbes(c, data)...)
	}
	return out
}

// clairToken is the HS256 JWT Quay sends: iss "quay", short-lived.
func clairToken(key []byte, now time.Time) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"iss": "quay", "iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(5 * time.Minute).Unix()})
	signing := head + "." + enc.EncodeToString(claims)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}

func probeClair(ctx context.Context, c *Context, u *url.URL, l *problem.List) {
	path := at("SECURITY_SCANNER_V4_ENDPOINT")
	target := strings.TrimRight(u.String(), "/") + clairIndexState
	shown := u.Scheme + "://" + u.Host + strings.TrimRight(u.Path, "/") + clairIndexState
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		l.Errorf(groupSecurityScanner, path, "SECURITY_SCANNER_V4_ENDPOINT cannot be used as a URL.")
		return
	}
	psk := c.Secret("SECURITY_SCANNER_V4_PSK")
	signed := false
	if strings.TrimSpace(psk.Reveal()) != "" {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(psk.Reveal()))
		if err != nil {
			return // the offline rules report a PSK that is not base64
		}
		req.Header.Set("Authorization", "Bearer "+clairToken(key, time.Now()))
		signed = true
	}
	client := probeHTTPClient(ctx, c.TLSConfig(u.Hostname()))
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		l.Errorf(groupSecurityScanner, path, "could not reach Clair: GET %s: %s.", shown, describeErr(err))
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusUnauthorized && signed:
		l.ErrorTags(groupSecurityScanner, at("SECURITY_SCANNER_V4_PSK"), []string{"SECURITY_SCANNER_V4_PSK"},
			"Clair at %s answered 401 Unauthorized to a request signed with SECURITY_SCANNER_V4_PSK: wrong PSK; copy auth.psk.key from Clair's configuration (and check that Clair accepts the issuer \"quay\").", u.Host)
	case resp.StatusCode == http.StatusUnauthorized:
		l.ErrorTags(groupSecurityScanner, at("SECURITY_SCANNER_V4_PSK"), []string{"SECURITY_SCANNER_V4_PSK"},
			"Clair at %s answered 401 Unauthorized: it requires a pre-shared key, but SECURITY_SCANNER_V4_PSK is not set; copy auth.psk.key from Clair's configuration.", u.Host)
	case resp.StatusCode == http.StatusNotFound:
		l.Errorf(groupSecurityScanner, path, "GET %s answered 404 Not Found: this is not a Clair v4 indexer; set SECURITY_SCANNER_V4_ENDPOINT to Clair's base URL (without /indexer).", shown)
	case resp.StatusCode != http.StatusOK:
		l.Errorf(groupSecurityScanner, path, "GET %s answered %s, expected 200 with the index state.", shown, resp.Status)
	default:
		var st struct {
			State *string `json:"state"`
		}
		if json.Unmarshal(body, &st) != nil || st.State == nil {
			l.Errorf(groupSecurityScanner, path, "GET %s answered 200 but not with Clair's JSON {\"state\": ...}; is the endpoint really Clair v4?", shown)
			return
		}
		l.Passedf(groupSecurityScanner, path, "Clair at %s answered index_state %q (signed with the PSK: %t).", u.Host, *st.State, signed)
	}
}

// clairDBProbes dials each distinct connstring of clair-config.yaml. The
// connstrings carry passwords the catalogue does not know, so nothing of
// them but host, port, user and database is ever quoted.
func clairDBProbes(c *Context, data []byte) []Probe {
	fp := filePath("clair-config.yaml")
	var raw map[string]map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return []Probe{{Name: "clair-config.yaml", Run: func(ctx context.Context, l *problem.List) {
			l.Errorf(groupSecurityScanner, fp, "clair-config.yaml is not valid YAML, so its database connections could not be checked.")
		}}}
	}
	get := func(sec string) string { s, _ := raw[sec]["connstring"].(string); return strings.TrimSpace(s) }
	roles := map[string][]string{}
	for _, name := range []string{"indexer", "matcher", "notifier"} {
		if cs := get(name); cs != "" {
			roles[cs] = append(roles[cs], name)
		}
	}
	conns := make([]string, 0, len(roles))
	for cs := range roles {
		conns = append(conns, cs)
	}
	sort.Slice(conns, func(i, j int) bool { return strings.Join(roles[conns[i]], ",") < strings.Join(roles[conns[j]], ",") })
	var out []Probe
	for _, cs := range conns {
		who := strings.Join(roles[cs], ", ")
		out = append(out, Probe{Name: "Clair database (" + who + ")", Run: func(ctx context.Context, l *problem.List) {
			probeClairDB(ctx, c, cs, who, l)
		}})
	}
	return out
}

func probeClairDB(ctx context.Context, c *Context, cs, who string, l *problem.List) {
	fp := filePath("clair-config.yaml")
	cfg, err := pgx.ParseConfig(cs)
	if err != nil {
		l.Warnf(groupSecurityScanner, fp, "the %s connstring of clair-config.yaml cannot be used from here (it may name files that only exist in Clair's container), so that database was not checked.", who)
		return
	}
	t := dbTarget{engine: "postgres", host: cfg.Host, port: int(cfg.Port), user: cfg.User, database: cfg.Database}
	if cfg.TLSConfig != nil && cfg.TLSConfig.RootCAs == nil && !cfg.TLSConfig.InsecureSkipVerify {
		// verify against the bundle's CAs like every other probe
		cfg.TLSConfig = c.TLSConfig(cfg.TLSConfig.ServerName)
	}
	for _, fb := range cfg.Fallbacks {
		if fb.TLSConfig != nil && fb.TLSConfig.RootCAs == nil && !fb.TLSConfig.InsecureSkipVerify {
			fb.TLSConfig = c.TLSConfig(fb.TLSConfig.ServerName)
		}
	}
	cfg.DialFunc = dialerFor(ctx)
	if dl, ok := ctx.Deadline(); ok {
		cfg.ConnectTimeout = timeUntil(dl)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		l.Errorf(groupSecurityScanner, fp, "could not connect to Clair's database (%s connstring of clair-config.yaml) at %s, database %s: %s.", who, t.who(), t.database, pgDescribe(err, t))
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		l.Errorf(groupSecurityScanner, fp, "connected to Clair's database (%s) at %s, but a query failed: %s.", who, t.who(), pgDescribe(err, t))
	}
}
