package testenv

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// VersityGWVersion is the versitygw build install.sh puts in the cache.
const VersityGWVersion = "v1.8.0"

// S3Server is a private versitygw (posix backend) speaking S3 over https
// with the test certificate, with real SigV4 checks.
type S3Server struct {
	Endpoint  string // 127.0.0.1:PORT (https)
	Host      string // 127.0.0.1
	Port      int
	AccessKey string
	SecretKey string
	Region    string // us-east-1
	Bucket    string // "quay", created

	Dir string
}

var sharedS3 = newShared[S3Server]()

// S3 returns the shared private S3 server, starting it if needed.
func S3(t testing.TB) *S3Server {
	t.Helper()
	return sharedS3.get(t, "s3", startS3)
}

func startS3(e *env) (*S3Server, error) {
	bin := filepath.Join(CacheDir(), "versitygw-"+VersityGWVersion, "bin", "versitygw")
	if _, err := os.Stat(bin); err != nil {
		return nil, &missingError{what: "versitygw " + VersityGWVersion + " (" + bin + ")"}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &S3Server{
		Endpoint: hostPort(port), Host: "127.0.0.1", Port: port,
		AccessKey: "AKTEST" + strings.ToUpper(randHex(7)), SecretKey: randHex(20),
		Region: "us-east-1", Bucket: "quay", Dir: e.dir,
	}
	data := filepath.Join(e.dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		return nil, err
	}
	ca := CA()
	logPath := filepath.Join(e.dir, "versitygw.log")
	p, err := startProc(e, "versitygw", "", logPath, syscall.SIGTERM,
		[]string{"ROOT_ACCESS_KEY_ID=", "ROOT_SECRET_ACCESS_KEY=", "ROOT_ACCESS_KEY=", "ROOT_SECRET_KEY="},
		bin,
		"--port", s.Endpoint,
		"--access", s.AccessKey,
		"--secret", s.SecretKey,
		"--region", s.Region,
		"--cert", ca.ServerCertFile,
		"--key", ca.ServerKeyFile,
		"posix", data,
	)
	if err != nil {
		return nil, err
	}
	if err := waitFor(p, "versitygw", dialCheck(s.Endpoint)); err != nil {
		return nil, err
	}
	var resp *http.Response
	if err := waitFor(p, "versitygw bucket create", func() error {
		resp, err = s.Request(http.MethodPut, "/"+s.Bucket, nil, s.SecretKey)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("PUT bucket: %s: %s", resp.Status, b)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return s, nil
}

// URL is https://127.0.0.1:PORT.
func (s *S3Server) URL() string { return "https://" + s.Endpoint }

// Request sends a path-style S3 request signed (SigV4) with AccessKey and
// the given secret, over https trusting the test CA.
func (s *S3Server) Request(method, path string, body []byte, secretKey string) (*http.Response, error) {
	req, err := http.NewRequest(method, s.URL()+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	SignV4(req, body, s.AccessKey, secretKey, s.Region, "s3", time.Now())
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: CA().ClientTLSConfig()}}
	return c.Do(req)
}

// SignV4 signs req (whose body is body) with AWS Signature Version 4.
func SignV4(req *http.Request, body []byte, accessKey, secretKey, region, service string, now time.Time) {
	now = now.UTC()
	amzDate := now.Format("20060102T150405Z")
	date := now.Format("20060102")
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	host := req.URL.Host
	req.Host = host

	headers := map[string]string{"host": host}
	for k, v := range req.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-") || lk == "content-type" || lk == "content-md5" {
			headers[lk] = strings.TrimSpace(strings.Join(v, ","))
		}
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	sort.Strings(names)
	var canonHeaders strings.Builder
	for _, k := range names {
		canonHeaders.WriteString(k + ":" + headers[k] + "\n")
	}
	signed := strings.Join(names, ";")

	q := req.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var qs []string
	for _, k := range keys {
		vs := q[k]
		sort.Strings(vs)
		for _, v := range vs {
			qs = append(qs, awsEscape(k)+"="+awsEscape(v))
		}
	}
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	canon := strings.Join([]string{req.Method, path, strings.Join(qs, "&"), canonHeaders.String(), signed, payloadHash}, "\n")
	scope := date + "/" + region + "/" + service + "/aws4_request"
	csum := sha256.Sum256([]byte(canon))
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(csum[:])
	k := hmacSHA256([]byte("AWS4"+secretKey), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(k, sts))
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s", accessKey, scope, signed, sig))
}

func awsEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
