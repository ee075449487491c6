package registry

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func sha512Of(b []byte) string {
	s := sha512.Sum512(b)
	return "sha512:" + hex.EncodeToString(s[:])
}

// Content pushed under sha512 digests is answered with those digests, and
// manifests are addressable by them.
func TestSHA512Digests(t *testing.T) {
	reg := startRegistry(t, regSetup{config: "SUPER_USERS: [admin]\n", files: htpasswdFiles(t, "admin", "pw")})
	c := reg.client.as("admin", "pw")

	blob := []byte("a blob pushed by its sha512 digest")
	d := sha512Of(blob)
	r := c.do(http.MethodPost, "/v2/lib/a/blobs/uploads/", nil, nil)
	wantCode(t, "start", r, http.StatusAccepted)
	loc := c.location(r)
	r = c.do(http.MethodPut, loc+"&digest="+url.QueryEscape(d), bytes.NewReader(blob), map[string]string{"Content-Type": "application/octet-stream"})
	wantCode(t, "finish", r, http.StatusCreated)
	if r.header.Get("Docker-Content-Digest") != d || !strings.HasSuffix(r.header.Get("Location"), "/v2/lib/a/blobs/"+d) {
		t.Errorf("upload answered %q at %q", r.header.Get("Docker-Content-Digest"), r.header.Get("Location"))
	}
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		r = c.do(m, "/v2/lib/a/blobs/"+d, nil, nil)
		wantCode(t, m+" blob", r, http.StatusOK)
		if r.header.Get("Docker-Content-Digest") != d || (m == http.MethodGet && !bytes.Equal(r.body, blob)) {
			t.Errorf("%s blob: %q %q", m, r.header.Get("Docker-Content-Digest"), r.body)
		}
	}
	// mounted into another repository by its sha512 digest
	r = c.do(http.MethodPost, "/v2/lib/b/blobs/uploads/?mount="+url.QueryEscape(d)+"&from=lib/a", nil, nil)
	wantCode(t, "mount", r, http.StatusCreated)
	if r.header.Get("Docker-Content-Digest") != d {
		t.Errorf("mount answered %q", r.header.Get("Docker-Content-Digest"))
	}
	r = c.do(http.MethodGet, "/v2/lib/b/blobs/"+d, nil, nil)
	wantCode(t, "mounted blob by sha512", r, http.StatusOK)
	if !bytes.Equal(r.body, blob) {
		t.Errorf("mounted blob %q", r.body)
	}
	wantCode(t, "mounted blob by sha256", c.do(http.MethodHead, "/v2/lib/b/blobs/"+digestOf(blob), nil, nil), http.StatusOK)

	// a manifest pushed, read and deleted by its sha512 digest
	config := []byte("{}")
	d2 := sha512Of(config)
	r = c.do(http.MethodPost, "/v2/lib/a/blobs/uploads/", nil, nil)
	wantCode(t, "config upload", c.do(http.MethodPut, c.location(r)+"&digest="+url.QueryEscape(d2), bytes.NewReader(config), nil), http.StatusCreated)
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + d2 + `","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + d + `","size":` + strconv.Itoa(len(blob)) + `}]}`)
	md := sha512Of(manifest)
	wantCode(t, "manifest under a wrong sha512", c.do(http.MethodPut, "/v2/lib/a/manifests/"+sha512Of([]byte("other")), bytes.NewReader(manifest), map[string]string{"Content-Type": ociManifest}), http.StatusBadRequest)
	r = c.do(http.MethodPut, "/v2/lib/a/manifests/"+md, bytes.NewReader(manifest), map[string]string{"Content-Type": ociManifest})
	wantCode(t, "manifest by sha512", r, http.StatusCreated)
	if r.header.Get("Docker-Content-Digest") != md || !strings.HasSuffix(r.header.Get("Location"), "/manifests/"+md) {
		t.Errorf("manifest push answered %q at %q", r.header.Get("Docker-Content-Digest"), r.header.Get("Location"))
	}
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		r = c.do(m, "/v2/lib/a/manifests/"+md, nil, map[string]string{"Accept": ociManifest})
		wantCode(t, m+" manifest by sha512", r, http.StatusOK)
		if r.header.Get("Docker-Content-Digest") != md || r.header.Get("Content-Type") != ociManifest || (m == http.MethodGet && !bytes.Equal(r.body, manifest)) {
			t.Errorf("%s manifest: %q %q", m, r.header.Get("Docker-Content-Digest"), r.header.Get("Content-Type"))
		}
	}
	wantCode(t, "delete by sha512", c.do(http.MethodDelete, "/v2/lib/a/manifests/"+md, nil, nil), http.StatusAccepted)
	wantCode(t, "gone", c.do(http.MethodGet, "/v2/lib/a/manifests/"+md, nil, map[string]string{"Accept": ociManifest}), http.StatusNotFound)
}
