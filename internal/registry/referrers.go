package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/distribution/distribution/v3/registry/api/errcode"
	"github.com/distribution/distribution/v3/registry/auth"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/opencontainers/go-digest"
)

// The OCI Referrers API, which distribution v3 lacks.
//
// When a manifest with a subject is pushed, the front door records a
// descriptor of it under the subject, in the registry's own storage:
//
//	/config-editor/referrers/<repository>/_subjects/<alg>/<hex>/<alg>-<hex>
//
// (repository path components never start with "_", so the tree cannot
// collide with a repository name), and answers the push with OCI-Subject.
// GET /v2/<name>/referrers/<digest> lists the descriptors whose manifest
// still exists in the repository (a deleted manifest drops out, and its
// entry is removed), optionally filtered by ?artifactType=.
//
// The index lives in the same storage driver as the blobs, so every
// registry process on the bundle sees it, and a multi-location storage
// layer carries it like the rest of the repository metadata.

const (
	referrersRoot  = "/config-editor/referrers"
	mediaTypeIndex = "application/vnd.oci.image.index.v1+json"
	mediaTypeImage = "application/vnd.oci.image.manifest.v1+json"
	// maxManifest bounds the manifest bodies the front door reads (the
	// runtime's own limit is 4 MiB).
	maxManifest = 4 << 20
)

// repoNameRE is the OCI distribution-spec repository name.
var repoNameRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)

// descriptor is an OCI content descriptor as the Referrers API lists it.
type descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// manifestFields are the parts of a pushed manifest a referrer needs.
type manifestFields struct {
	MediaType    string `json:"mediaType"`
	ArtifactType string `json:"artifactType"`
	Config       *struct {
		MediaType string `json:"mediaType"`
	} `json:"config"`
	Subject *struct {
		Digest string `json:"digest"`
	} `json:"subject"`
	Annotations map[string]string `json:"annotations"`
}

// splitAPIPath splits /v2/<name>/<kind>/<rest> at the last /<kind>/.
func splitAPIPath(p, kind string) (name, rest string, ok bool) {
	if !strings.HasPrefix(p, "/v2/") {
		return "", "", false
	}
	i := strings.LastIndex(p, "/"+kind+"/")
	if i < len("/v2/") {
		return "", "", false
	}
	name, rest = p[len("/v2/"):i], p[i+len(kind)+2:]
	if !repoNameRE.MatchString(name) || rest == "" || strings.Contains(rest, "/") {
		return "", "", false
	}
	return name, rest, true
}

func subjectDir(repo string, d digest.Digest) string {
	return path.Join(referrersRoot, repo, "_subjects", d.Algorithm().String(), d.Encoded())
}

func revisionLink(repo string, d digest.Digest) string {
	return path.Join("/docker/registry/v2/repositories", repo, "_manifests/revisions", d.Algorithm().String(), d.Encoded(), "link")
}

// referrers serves GET /v2/<name>/referrers/<digest>.
func (s *Server) referrers(w http.ResponseWriter, r *http.Request, st *reqState, repo, ref string) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		_ = errcode.ServeJSON(w, errcode.ErrorCodeUnsupported)
		return
	}
	if !s.auth.may(st.user, auth.Access{Resource: auth.Resource{Type: "repository", Name: repo}, Action: "pull"}) {
		if st.user == "" {
			s.unauthorized(w, "authentication required")
		} else {
			_ = errcode.ServeJSON(w, errcode.ErrorCodeDenied)
		}
		return
	}
	subject, err := digest.Parse(ref)
	if err != nil {
		_ = errcode.ServeJSON(w, errcode.ErrorCodeDigestInvalid.WithDetail(ref))
		return
	}
	ctx := r.Context()
	entries, err := s.driver.List(ctx, subjectDir(repo, subject))
	var nf storagedriver.PathNotFoundError
	if err != nil && !errors.As(err, &nf) {
		s.log.Error("listing referrers failed", "repository", repo, "subject", subject.String(), "err", err.Error())
		_ = errcode.ServeJSON(w, errcode.ErrorCodeUnknown.WithMessage("listing the referrers failed"))
		return
	}
	sort.Strings(entries)
	artifactType := r.URL.Query().Get("artifactType")
	manifests := []descriptor{}
	for _, e := range entries {
		d, ok := s.liveReferrer(ctx, repo, e)
		if !ok || artifactType != "" && d.ArtifactType != artifactType {
			continue
		}
		manifests = append(manifests, d)
	}
	body, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mediaTypeIndex, "manifests": manifests})
	w.Header().Set("Content-Type", mediaTypeIndex)
	if artifactType != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// liveReferrer reads one index entry and reports whether its manifest is
// still in the repository; entries of deleted manifests are removed.
func (s *Server) liveReferrer(ctx context.Context, repo, entry string) (descriptor, bool) {
	var d descriptor
	data, err := s.driver.GetContent(ctx, entry)
	if err != nil || json.Unmarshal(data, &d) != nil {
		return d, false
	}
	dg, err := digest.Parse(d.Digest)
	if err != nil {
		return d, false
	}
	if _, err := s.driver.Stat(ctx, revisionLink(repo, dg)); err != nil {
		var nf storagedriver.PathNotFoundError
		if errors.As(err, &nf) {
			_ = s.driver.Delete(ctx, entry)
		}
		return d, false
	}
	return d, true
}

// readManifestPut reads the body of a manifest PUT (bounded) and puts it
// back for the runtime; it returns what a referrer needs, or nil when the
// manifest has no subject.
func readManifestPut(r *http.Request) (*manifestFields, []byte, error) {
	orig := r.Body
	body, err := io.ReadAll(io.LimitReader(orig, maxManifest+1))
	r.Body = readCloser{io.MultiReader(bytes.NewReader(body), orig), orig}
	if err != nil {
		return nil, nil, err
	}
	if len(body) > maxManifest {
		return nil, nil, nil // the runtime refuses it
	}
	var m manifestFields
	if json.Unmarshal(body, &m) != nil || m.Subject == nil {
		return nil, body, nil
	}
	if _, err := digest.Parse(m.Subject.Digest); err != nil {
		return nil, body, nil
	}
	if m.MediaType == "" {
		m.MediaType = r.Header.Get("Content-Type")
	}
	return &m, body, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// manifestPutWriter finishes a manifest PUT the runtime accepted (status
// 201), before the answer leaves: it gives a manifest pushed by a sha512
// digest its sha512 revision link (see digests.go), and records a manifest
// with a subject as a referrer and adds OCI-Subject.
type manifestPutWriter struct {
	http.ResponseWriter
	s       *Server
	ctx     context.Context
	repo    string
	alias   digest.Digest   // the non-sha256 digest the client pushed by, or ""
	m       *manifestFields // nil: no subject
	size    int64
	failed  bool
	written bool
}

func (sw *manifestPutWriter) WriteHeader(code int) {
	if sw.written {
		sw.ResponseWriter.WriteHeader(code)
		return
	}
	sw.written = true
	if code == http.StatusCreated {
		if err := sw.finish(); err != nil {
			sw.s.log.Error("finishing a manifest push failed", "repository", sw.repo, "err", err.Error())
			sw.failed = true
			h := sw.Header()
			h.Del("Location")
			h.Del("Docker-Content-Digest")
			h.Del("Content-Length")
			_ = errcode.ServeJSON(sw.ResponseWriter, errcode.ErrorCodeUnknown.WithMessage("the manifest was stored, but recording it under its digest or as a referrer failed; push it again"))
			return
		}
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *manifestPutWriter) finish() error {
	h := sw.Header()
	canonical, err := digest.Parse(h.Get("Docker-Content-Digest"))
	if err != nil {
		return errors.New("the runtime did not say the manifest's digest")
	}
	dg := canonical
	if sw.alias != "" {
		if err := sw.s.driver.PutContent(sw.ctx, revisionLink(sw.repo, sw.alias), []byte(canonical.String())); err != nil {
			return err
		}
		dg = sw.alias
		h.Set("Docker-Content-Digest", dg.String())
		if loc := h.Get("Location"); loc != "" {
			h.Set("Location", strings.Replace(loc, canonical.String(), dg.String(), 1))
		}
	}
	if sw.m != nil {
		if err := sw.record(dg); err != nil {
			return err
		}
		h.Set("OCI-Subject", sw.m.Subject.Digest)
	}
	return nil
}

func (sw *manifestPutWriter) Write(b []byte) (int, error) {
	if !sw.written {
		sw.WriteHeader(http.StatusOK)
	}
	if sw.failed {
		return len(b), nil
	}
	return sw.ResponseWriter.Write(b)
}

func (sw *manifestPutWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

func (sw *manifestPutWriter) Flush() {
	if f, ok := sw.ResponseWriter.(http.Flusher); ok && !sw.failed {
		f.Flush()
	}
}

func (sw *manifestPutWriter) record(dg digest.Digest) error {
	subject := digest.Digest(sw.m.Subject.Digest)
	d := descriptor{MediaType: sw.m.MediaType, Digest: dg.String(), Size: sw.size, ArtifactType: sw.m.ArtifactType, Annotations: sw.m.Annotations}
	if d.ArtifactType == "" && sw.m.MediaType == mediaTypeImage && sw.m.Config != nil {
		d.ArtifactType = sw.m.Config.MediaType
	}
	data, _ := json.Marshal(d)
	return sw.s.driver.PutContent(sw.ctx, path.Join(subjectDir(sw.repo, subject), dg.Algorithm().String()+"-"+dg.Encoded()), data)
}
