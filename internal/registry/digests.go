package registry

import (
	"context"
	"errors"
	"net/http"
	"path"
	"strings"

	"github.com/distribution/distribution/v3/registry/api/errcode"
	"github.com/opencontainers/go-digest"
)

// Digests other than sha256 (sha512).
//
// The runtime verifies and stores content pushed under a sha512 digest, but
// files it under its canonical sha256 digest: it answers with the sha256
// Docker-Content-Digest, a blob mounted by sha512 is linked only under
// sha256, and a manifest pushed by a sha512 digest is refused. The front
// door closes the gaps, using the runtime's own cross-digest links (a link
// file under the other algorithm naming the canonical digest, which its
// lookups follow):
//
//   - a blob request that names a sha512 digest (path, ?digest= or ?mount=)
//     is answered with that digest in Docker-Content-Digest and Location; a
//     blob mounted by sha512 also gets its sha512 link in the target;
//   - a manifest PUT by a sha512 digest is checked against the body, stored
//     under its sha256 digest, and given a sha512 revision link, so GET, HEAD
//     and DELETE by the sha512 digest work (answered with that digest).

// repositoryPath is where the runtime keeps a repository's links.
func repositoryPath(repo string) string {
	return path.Join("/docker/registry/v2/repositories", repo)
}

func layerLink(repo string, d digest.Digest) string {
	return path.Join(repositoryPath(repo), "_layers", d.Algorithm().String(), d.Encoded(), "link")
}

// otherDigest parses s as a digest of an algorithm other than sha256.
func otherDigest(s string) (digest.Digest, bool) {
	d, err := digest.Parse(s)
	if err != nil || d.Algorithm() == digest.Canonical {
		return "", false
	}
	return d, true
}

// blobRequestDigest is the non-sha256 digest a blob request names, and
// whether it is a mount into repo.
func blobRequestDigest(r *http.Request) (repo string, d digest.Digest, mount bool, ok bool) {
	// a mount's source repository is the "from" query parameter
	p := r.URL.Path
	if name, ref, found := splitAPIPath(p, "blobs"); found && ref != "uploads" {
		d, ok = otherDigest(ref)
		return name, d, false, ok
	}
	// uploads: /v2/<name>/blobs/uploads/ and /v2/<name>/blobs/uploads/<id>
	i := strings.LastIndex(p, "/blobs/uploads")
	if !strings.HasPrefix(p, "/v2/") || i < len("/v2/") {
		return "", "", false, false
	}
	repo = p[len("/v2/"):i]
	if !repoNameRE.MatchString(repo) {
		return "", "", false, false
	}
	q := r.URL.Query()
	if m := q.Get("mount"); m != "" && r.Method == http.MethodPost {
		d, ok = otherDigest(m)
		return repo, d, true, ok
	}
	d, ok = otherDigest(q.Get("digest"))
	return repo, d, false, ok
}

// digestWriter answers a blob request with the digest the client named.
type digestWriter struct {
	http.ResponseWriter
	s       *Server
	ctx     context.Context
	repo    string
	want    digest.Digest
	mount   bool
	from    string // the source repository of a mount
	written bool
	failed  bool
}

func (dw *digestWriter) WriteHeader(code int) {
	if dw.written {
		dw.ResponseWriter.WriteHeader(code)
		return
	}
	dw.written = true
	h := dw.Header()
	if dw.mount && code == http.StatusCreated {
		if err := dw.fixMount(); err != nil {
			dw.s.log.Error("linking a mounted blob under its digest failed", "repository", dw.repo, "err", err.Error())
			dw.failed = true
			h.Del("Location")
			h.Del("Docker-Content-Digest")
			h.Del("Content-Length")
			_ = errcode.ServeJSON(dw.ResponseWriter, errcode.ErrorCodeUnknown.WithMessage("mounting the blob under its digest failed; upload it instead"))
			return
		}
	}
	if got := h.Get("Docker-Content-Digest"); got != "" && got != dw.want.String() && code < 400 {
		h.Set("Docker-Content-Digest", dw.want.String())
		if loc := h.Get("Location"); loc != "" {
			h.Set("Location", strings.Replace(loc, got, dw.want.String(), 1))
		}
		if et := h.Get("Etag"); et != "" {
			h.Set("Etag", strings.Replace(et, got, dw.want.String(), 1))
		}
	}
	dw.ResponseWriter.WriteHeader(code)
}

// fixMount: the runtime links a blob mounted by a sha512 digest to that
// digest itself, which names no stored blob; the link must name the
// canonical digest, as the source repository's link does.
func (dw *digestWriter) fixMount() error {
	if !repoNameRE.MatchString(dw.from) {
		return errors.New("no source repository")
	}
	data, err := dw.s.driver.GetContent(dw.ctx, layerLink(dw.from, dw.want))
	if err != nil {
		return err
	}
	canonical, err := digest.Parse(strings.TrimSpace(string(data)))
	if err != nil {
		return err
	}
	if err := dw.s.driver.PutContent(dw.ctx, layerLink(dw.repo, canonical), []byte(canonical.String())); err != nil {
		return err
	}
	return dw.s.driver.PutContent(dw.ctx, layerLink(dw.repo, dw.want), []byte(canonical.String()))
}

func (dw *digestWriter) Write(b []byte) (int, error) {
	if !dw.written {
		dw.WriteHeader(http.StatusOK)
	}
	if dw.failed {
		return len(b), nil
	}
	return dw.ResponseWriter.Write(b)
}

func (dw *digestWriter) Unwrap() http.ResponseWriter { return dw.ResponseWriter }

func (dw *digestWriter) Flush() {
	if f, ok := dw.ResponseWriter.(http.Flusher); ok && !dw.failed {
		if !dw.written {
			dw.WriteHeader(http.StatusOK)
		}
		f.Flush()
	}
}
