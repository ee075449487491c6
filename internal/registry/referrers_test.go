package registry

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// artifact is a manifest pointing at subject, with the empty config.
func artifact(t *testing.T, c *regClient, repo, subject string, subjectSize int, artifactType, configType string, annotations map[string]string) []byte {
	t.Helper()
	empty := []byte("{}")
	wantCode(t, "empty config", c.pushBlob(repo, empty), http.StatusCreated)
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     ociManifest,
		"config":        map[string]any{"mediaType": configType, "digest": digestOf(empty), "size": len(empty)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.empty.v1+json", "digest": digestOf(empty), "size": len(empty)}},
		"subject":       map[string]any{"mediaType": ociManifest, "digest": subject, "size": subjectSize},
	}
	if artifactType != "" {
		m["artifactType"] = artifactType
	}
	if annotations != nil {
		m["annotations"] = annotations
	}
	b, _ := json.Marshal(m)
	return b
}

type referrersList struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

func listReferrers(t *testing.T, c *regClient, repo, subject, query string) (resp, referrersList) {
	t.Helper()
	r := c.do(http.MethodGet, "/v2/"+repo+"/referrers/"+subject+query, nil, nil)
	var l referrersList
	if r.code == http.StatusOK {
		if err := json.Unmarshal(r.body, &l); err != nil {
			t.Fatalf("referrers body: %v: %s", err, r.body)
		}
		if l.SchemaVersion != 2 || l.MediaType != mediaTypeIndex || r.header.Get("Content-Type") != mediaTypeIndex {
			t.Errorf("not an OCI index: %s %v", r.body, r.header)
		}
	}
	return r, l
}

func TestReferrers(t *testing.T) {
	reg := startRegistry(t, regSetup{
		config: "SUPER_USERS: [admin]\nFEATURE_ANONYMOUS_ACCESS: false\n",
		files:  htpasswdFiles(t, "alice", "pw", "admin", "apw", "bob", "bpw"),
	})
	alice := reg.client.as("alice", "pw")
	img := newTestImage(t, 2048)
	wantCode(t, "subject", alice.push("alice/app", "v1", img), http.StatusCreated)
	subj := digestOf(img.manifest)

	// nothing yet: an empty index, not 404
	r, l := listReferrers(t, alice, "alice/app", subj, "")
	wantCode(t, "empty referrers", r, http.StatusOK)
	if len(l.Manifests) != 0 {
		t.Errorf("referrers of a fresh subject: %+v", l.Manifests)
	}

	sig := artifact(t, alice, "alice/app", subj, len(img.manifest), "application/vnd.example.sig", "application/vnd.oci.empty.v1+json", map[string]string{"org.example.signer": "alice"})
	r = alice.do(http.MethodPut, "/v2/alice/app/manifests/"+digestOf(sig), bytes.NewReader(sig), map[string]string{"Content-Type": ociManifest})
	wantCode(t, "push signature", r, http.StatusCreated)
	if r.header.Get("OCI-Subject") != subj {
		t.Errorf("OCI-Subject %q, want %s", r.header.Get("OCI-Subject"), subj)
	}
	// no artifactType: the config's media type stands in
	sbom := artifact(t, alice, "alice/app", subj, len(img.manifest), "", "application/vnd.example.sbom.config", nil)
	wantCode(t, "push sbom by tag", alice.do(http.MethodPut, "/v2/alice/app/manifests/sbom", bytes.NewReader(sbom), map[string]string{"Content-Type": ociManifest}), http.StatusCreated)
	// a manifest without subject has no OCI-Subject
	other := newTestImage(t, 100)
	r = alice.push("alice/app", "v2", other)
	wantCode(t, "plain push", r, http.StatusCreated)
	if r.header.Get("OCI-Subject") != "" {
		t.Error("OCI-Subject on a manifest without subject")
	}
	// bob may not push into alice/: his referrer must not be recorded
	bobs := artifact(t, alice, "alice/app", subj, len(img.manifest), "application/vnd.example.evil", "application/vnd.oci.empty.v1+json", nil)
	wantCode(t, "bob's referrer", reg.client.as("bob", "bpw").do(http.MethodPut, "/v2/alice/app/manifests/"+digestOf(bobs), bytes.NewReader(bobs), map[string]string{"Content-Type": ociManifest}), http.StatusForbidden)

	r, l = listReferrers(t, reg.client.as("bob", "bpw"), "alice/app", subj, "")
	wantCode(t, "list", r, http.StatusOK)
	want := map[string]descriptor{
		digestOf(sig):  {MediaType: ociManifest, Digest: digestOf(sig), Size: int64(len(sig)), ArtifactType: "application/vnd.example.sig", Annotations: map[string]string{"org.example.signer": "alice"}},
		digestOf(sbom): {MediaType: ociManifest, Digest: digestOf(sbom), Size: int64(len(sbom)), ArtifactType: "application/vnd.example.sbom.config"},
	}
	if len(l.Manifests) != len(want) {
		t.Fatalf("referrers %+v, want %d", l.Manifests, len(want))
	}
	for _, d := range l.Manifests {
		w, ok := want[d.Digest]
		if !ok || d.MediaType != w.MediaType || d.Size != w.Size || d.ArtifactType != w.ArtifactType || len(d.Annotations) != len(w.Annotations) || d.Annotations["org.example.signer"] != w.Annotations["org.example.signer"] {
			t.Errorf("descriptor %+v, want %+v", d, w)
		}
	}
	if r.header.Get("OCI-Filters-Applied") != "" {
		t.Error("OCI-Filters-Applied without a filter")
	}

	r, l = listReferrers(t, alice, "alice/app", subj, "?artifactType=application/vnd.example.sig")
	if len(l.Manifests) != 1 || l.Manifests[0].Digest != digestOf(sig) || r.header.Get("OCI-Filters-Applied") != "artifactType" {
		t.Errorf("filtered: %+v %v", l.Manifests, r.header)
	}

	// a deleted referrer drops out
	wantCode(t, "delete signature", reg.client.as("admin", "apw").do(http.MethodDelete, "/v2/alice/app/manifests/"+digestOf(sig), nil, nil), http.StatusAccepted)
	_, l = listReferrers(t, alice, "alice/app", subj, "")
	if len(l.Manifests) != 1 || l.Manifests[0].Digest != digestOf(sbom) {
		t.Errorf("after delete: %+v", l.Manifests)
	}

	wantCode(t, "anonymous", reg.client.do(http.MethodGet, "/v2/alice/app/referrers/"+subj, nil, nil), http.StatusUnauthorized)
	wantCode(t, "bad digest", alice.do(http.MethodGet, "/v2/alice/app/referrers/sha256:nothex", nil, nil), http.StatusBadRequest)
	wantCode(t, "POST", alice.do(http.MethodPost, "/v2/alice/app/referrers/"+subj, nil, nil), http.StatusMethodNotAllowed)
	// other repositories do not share the index
	_, l = listReferrers(t, reg.client.as("admin", "apw"), "admin/app", subj, "")
	if len(l.Manifests) != 0 {
		t.Errorf("referrers leak across repositories: %+v", l.Manifests)
	}
}

func TestSplitAPIPath(t *testing.T) {
	for _, tc := range []struct {
		path, kind, name, rest string
		ok                     bool
	}{
		{"/v2/a/b/referrers/sha256:x", "referrers", "a/b", "sha256:x", true},
		{"/v2/a/referrers/b/referrers/sha256:x", "referrers", "a/referrers/b", "sha256:x", true},
		{"/v2/a/manifests/latest", "manifests", "a", "latest", true},
		{"/v2/referrers/x", "referrers", "", "", false},
		{"/v2/A/referrers/x", "referrers", "", "", false},
		{"/v2/a/referrers/", "referrers", "", "", false},
		{"/v2/a/referrers/x/y", "referrers", "", "", false},
		{"/v2/../referrers/x", "referrers", "", "", false},
		{"/other/a/referrers/x", "referrers", "", "", false},
	} {
		name, rest, ok := splitAPIPath(tc.path, tc.kind)
		if ok != tc.ok || name != tc.name || rest != tc.rest {
			t.Errorf("%s: %q %q %v, want %q %q %v", tc.path, name, rest, ok, tc.name, tc.rest, tc.ok)
		}
	}
}
