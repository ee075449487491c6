package validators

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/ncw/swift/v2"
)

// SwiftStorage: authenticate (v1, v2 or v3, with os_options for the
// Keystone scope), then the object round trip in swift_container. The
// swift_password travels in the auth request body (v2/v3) or header (v1).

type swiftStore struct {
	conn      *swift.Connection
	container string
}

func (c *Context) swiftStore(ctx context.Context, loc StorageLocation) (blobStore, string, error) {
	authURL := loc.Arg("auth_url")
	u, err := url.Parse(authURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, "", &storeSetupError{"auth_url", fmt.Sprintf("auth_url %q is not an http(s) URL", authURL)}
	}
	var extra [][]byte
	if ref := loc.Arg("ca_cert_path"); ref != "" {
		data, name, ok := c.BundleFile(ref)
		if !ok {
			return nil, "", &storeSetupError{"ca_cert_path", fmt.Sprintf("ca_cert_path %q is not in the bundle; upload it as %s", ref, name)}
		}
		extra = append(extra, data)
	}
	ver, _ := AsInt(loc.Args["auth_version"])
	conn := &swift.Connection{
		AuthUrl:     authURL,
		UserName:    loc.Arg("swift_user"),
		ApiKey:      loc.SecretArg("swift_password").Reveal(),
		AuthVersion: ver,
		Retries:     1,
		Transport:   probeHTTPClient(ctx, c.TLSConfig(u.Hostname(), extra...)).Transport,
	}
	if opts, ok := loc.Args["os_options"].(map[string]any); ok {
		set := map[string]*string{
			"tenant_name": &conn.Tenant, "project_name": &conn.Tenant,
			"tenant_id": &conn.TenantId, "project_id": &conn.TenantId,
			"user_domain_name": &conn.Domain, "user_domain_id": &conn.DomainId,
			"project_domain_name": &conn.TenantDomain, "project_domain_id": &conn.TenantDomainId,
			"region_name": &conn.Region,
		}
		for k, p := range set {
			if v := AsString(opts[k]); v != "" {
				*p = v
			}
		}
		if et := AsString(opts["endpoint_type"]); et != "" {
			conn.EndpointType = swift.EndpointType(et)
		}
	}
	container := loc.Arg("swift_container")
	where := fmt.Sprintf("container %q (auth %s)", container, authURL)
	if err := conn.Authenticate(ctx); err != nil {
		if errors.Is(err, swift.AuthorizationFailed) || errors.Is(err, swift.Forbidden) {
			return nil, "", &storeSetupError{"swift_password", fmt.Sprintf("authentication at %s was refused (%s): check swift_user, swift_password, auth_version and os_options", authURL, err)}
		}
		var se *swift.Error
		if errors.As(err, &se) && se.StatusCode != 0 {
			return nil, "", &storeSetupError{"auth_url", fmt.Sprintf("authentication at %s failed: %s", authURL, se.Text)}
		}
		return nil, "", &storeSetupError{"auth_url", fmt.Sprintf("authentication at %s failed: %s", authURL, netWords(err))}
	}
	return &swiftStore{conn: conn, container: container}, where, nil
}

func (s *swiftStore) put(ctx context.Context, key string, data []byte) error {
	return s.conn.ObjectPutBytes(ctx, s.container, key, data, "text/plain")
}

func (s *swiftStore) get(ctx context.Context, key string) ([]byte, error) {
	return s.conn.ObjectGetBytes(ctx, s.container, key)
}

func (s *swiftStore) del(ctx context.Context, key string) error {
	return s.conn.ObjectDelete(ctx, s.container, key)
}

func (s *swiftStore) explain(op string, err error) (string, string) {
	var se *swift.Error
	if !errors.As(err, &se) || se.StatusCode == 0 {
		return "", netWords(err)
	}
	switch {
	case errors.Is(err, swift.ContainerNotFound), op == "write" && se.StatusCode == 404:
		return "swift_container", "the container does not exist; create it or correct swift_container"
	case errors.Is(err, swift.ObjectNotFound):
		return "", "the object was not found right after it was written"
	case errors.Is(err, swift.AuthorizationFailed), errors.Is(err, swift.Forbidden):
		return "swift_user", fmt.Sprintf("the server refused to %s (%d): the user lacks the permission on this container", op, se.StatusCode)
	}
	return "", fmt.Sprintf("the server answered %s", se.Text)
}
