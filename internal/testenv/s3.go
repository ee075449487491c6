package testenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
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

// SignV4 signs req (whose body is body) with AWS Signature Version 4 for
// service in region at now, with the AWS SDK's signer (aws-sdk-go-v2
// aws/signer/v4): X-Amz-Date, X-Amz-Content-Sha256 (the body's SHA-256, as
// S3 requires) and Authorization. The signature covers every header set on
// req before the call.
func SignV4(req *http.Request, body []byte, accessKey, secretKey, region, service string, now time.Time) {
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}
	// SignHTTP fails only on an empty payload hash, which cannot happen here
	_ = v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, service, region, now)
}
