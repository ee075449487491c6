package validators

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The S3 family: S3Storage and its CDN-fronted variants, the S3-compatible
// gateways (RadosGW, NooBaa, IBM COS) and Google Cloud Storage through its
// S3-compatible XML API with HMAC keys. All go through minio-go with our own
// transport (bundle CAs, ctx-bound dials, no keep-alive).

type s3ArgNames struct {
	bucket, access, secret, region string
	style                          int
}

const (
	styleS3      = iota // endpoint_url, or host[:port] (https), or AWS
	styleGateway        // hostname[:port], https iff is_secure
	styleGCS            // storage.googleapis.com unless endpoint_url is set
)

var (
	s3Names      = s3ArgNames{"s3_bucket", "s3_access_key", "s3_secret_key", "s3_region", styleS3}
	gatewayNames = s3ArgNames{"bucket_name", "access_key", "secret_key", "region_name", styleGateway}
	gcsNames     = s3ArgNames{"bucket_name", "access_key", "secret_key", "", styleGCS}
)

// gcsEndpoint is Google's S3-compatible XML API.
const gcsEndpoint = "https://storage.googleapis.com"

type s3Store struct {
	cl     *minio.Client
	bucket string
	names  s3ArgNames
	sigV2  bool
}

// s3Endpoint works out host[:port] and whether TLS is used, the way Quay
// builds its boto endpoint for the driver.
func s3Endpoint(args map[string]any, names s3ArgNames) (hostport string, secure bool, err error) {
	fromURL := func(arg, raw string) (string, bool, error) {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return "", false, &storeSetupError{arg, fmt.Sprintf("%s %q is not an http(s) URL", arg, raw)}
		}
		return u.Host, u.Scheme == "https", nil
	}
	withPort := func(host string) string {
		if p := AsString(args["port"]); p != "" {
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			return net.JoinHostPort(strings.Trim(host, "[]"), p)
		}
		return host
	}
	switch names.style {
	case styleGateway:
		host := AsString(args["hostname"])
		secure, ok := argBool(args["is_secure"])
		if !ok {
			return "", false, &storeSetupError{"is_secure", "is_secure must be true or false"}
		}
		if strings.Contains(host, "://") {
			h, _, err := fromURL("hostname", host)
			if err != nil {
				return "", false, err
			}
			host = h
		}
		return withPort(host), secure, nil
	case styleGCS:
		if raw := AsString(args["endpoint_url"]); raw != "" {
			return fromURL("endpoint_url", raw)
		}
		return fromURL("endpoint_url", gcsEndpoint)
	}
	if raw := AsString(args["endpoint_url"]); raw != "" {
		return fromURL("endpoint_url", raw)
	}
	if host := AsString(args["host"]); host != "" {
		if strings.Contains(host, "://") {
			h, sec, err := fromURL("host", host)
			if err != nil {
				return "", false, err
			}
			return withPort(h), sec, nil
		}
		return withPort(host), true, nil
	}
	return "s3.amazonaws.com", true, nil
}

func (c *Context) s3Store(ctx context.Context, args map[string]any, names s3ArgNames) (blobStore, string, error) {
	if args == nil {
		return nil, "", &storeSetupError{"storage_config", "storage_config must hold the S3 arguments"}
	}
	hostport, secure, err := s3Endpoint(args, names)
	if err != nil {
		return nil, "", err
	}
	bucket := AsString(args[names.bucket])
	scheme := "http"
	if secure {
		scheme = "https"
	}
	where := fmt.Sprintf("bucket %q at %s://%s", bucket, scheme, hostport)
	var creds *credentials.Credentials
	access, secret := AsString(args[names.access]), secretIn(args, names.secret)
	switch {
	case access == "" && secret == "":
		// Quay would use the instance role or environment; the validator
		// has neither, so it can only try anonymously.
		creds = credentials.NewStatic("", "", "", credentials.SignatureAnonymous)
	case isSigV2(AsString(args["signature_version"])):
		creds = credentials.NewStaticV2(access, secret.Reveal(), "")
	default:
		creds = credentials.NewStaticV4(access, secret.Reveal(), "")
	}
	cl, err := c.newMinio(ctx, hostport, secure, creds, AsString(args[names.region]))
	if err != nil {
		return nil, where, err
	}
	return &s3Store{cl: cl, bucket: bucket, names: names, sigV2: isSigV2(AsString(args["signature_version"]))}, where, nil
}

func (c *Context) newMinio(ctx context.Context, hostport string, secure bool, creds *credentials.Credentials, region string) (*minio.Client, error) {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	tr := probeHTTPClient(ctx, c.TLSConfig(host)).Transport
	return minio.New(hostport, &minio.Options{
		Creds: creds, Secure: secure, Transport: tr, Region: region, MaxRetries: 1,
	})
}

func isSigV2(v string) bool {
	switch strings.ToLower(v) {
	case "v2", "s3v2", "s3":
		return true
	}
	return false
}

func (s *s3Store) put(ctx context.Context, key string, data []byte) error {
	_, err := s.cl.PutObject(ctx, s.bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "text/plain", DisableMultipart: true})
	return err
}

func (s *s3Store) get(ctx context.Context, key string) ([]byte, error) {
	obj, err := s.cl.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(io.LimitReader(obj, 1<<20))
}

func (s *s3Store) del(ctx context.Context, key string) error {
	return s.cl.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
}

func (s *s3Store) explain(op string, err error) (string, string) {
	var er minio.ErrorResponse
	if !errors.As(err, &er) || er.Code == "" && er.StatusCode == 0 {
		return "", netWords(err)
	}
	switch er.Code {
	case "NoSuchBucket":
		return s.names.bucket, fmt.Sprintf("the bucket does not exist (NoSuchBucket); create it or correct %s", s.names.bucket)
	case "InvalidAccessKeyId", "XAdminUserNotFound": // the second is versitygw's
		return s.names.access, fmt.Sprintf("the server does not know this access key (InvalidAccessKeyId); check %s", s.names.access)
	case "SignatureDoesNotMatch":
		return s.names.secret, fmt.Sprintf("the server rejected the request signature (SignatureDoesNotMatch): the secret key does not belong to the access key; check %s", s.names.secret)
	case "AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException":
		arg := s.names.region
		msg := fmt.Sprintf("the request went to the wrong region (%s)", er.Code)
		if er.Region != "" {
			msg += fmt.Sprintf("; the bucket is in %s", er.Region)
		}
		if arg != "" {
			msg += "; set " + arg
		}
		return arg, msg
	case "AccessDenied", "AllAccessDisabled":
		if s.sigV2 {
			return "signature_version", fmt.Sprintf("access denied (%s) to a request signed with signature version 2; most servers accept only s3v4: remove signature_version or set it to s3v4 (if that works, the v2 setting was the cause)", er.Code)
		}
		return "", fmt.Sprintf("access denied (%s): the credentials were accepted but may not %s objects in this bucket; grant the permission", er.Code, op)
	case "NoSuchKey":
		return "", "the object was not found right after it was written (NoSuchKey); the storage is not read-after-write consistent or another process removed it"
	}
	if er.StatusCode == http.StatusForbidden {
		return "", fmt.Sprintf("the server answered 403 Forbidden (%s): the credentials are wrong or lack the permission to %s", codeOr(er.Code, "no code"), op)
	}
	return "", fmt.Sprintf("the server answered %s", statusWords(er.StatusCode, er.Code, er.Message))
}

func codeOr(code, alt string) string {
	if code == "" {
		return alt
	}
	return code
}

// statusWords formats an HTTP answer for a message: "404 Not Found (Code:
// message)". The server's message is cut short: it is not ours to trust.
func statusWords(status int, code, msg string) string {
	s := fmt.Sprintf("%d %s", status, http.StatusText(status))
	if status == 0 {
		s = "an error"
	}
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	switch {
	case code != "" && msg != "":
		s += fmt.Sprintf(" (%s: %s)", code, strings.TrimSuffix(msg, "."))
	case code != "":
		s += " (" + code + ")"
	case msg != "":
		s += " (" + strings.TrimSuffix(msg, ".") + ")"
	}
	return s
}

// stsStore assumes sts_role_arn with the STS user's keys, then talks S3
// with the temporary credentials, as Quay's STSS3Storage does.
func (c *Context) stsStore(ctx context.Context, loc StorageLocation) (blobStore, string, error) {
	ak, sk, role := loc.Arg("sts_user_access_key"), loc.SecretArg("sts_user_secret_key"), loc.Arg("sts_role_arn")
	for _, a := range []string{"sts_role_arn", "sts_user_access_key", "sts_user_secret_key"} {
		if loc.Arg(a) == "" {
			return nil, "", &storeSetupError{a, "STSS3Storage needs sts_role_arn, sts_user_access_key and sts_user_secret_key to assume the role; " + a + " is missing"}
		}
	}
	region := loc.Arg("s3_region")
	if region == "" {
		region = "us-east-1"
	}
	stsEndpoint := c.Opts.Hosted.STS
	form := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {role},
		"RoleSessionName": {"quay-config-editor-probe"}, "DurationSeconds": {"900"}}
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, stsEndpoint+"/", strings.NewReader(body))
	if err != nil {
		return nil, "", &storeSetupError{"", "the STS endpoint " + stsEndpoint + " is not a valid URL"}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := signV4(ctx, req, []byte(body), ak, sk.Reveal(), region, "sts", time.Now()); err != nil {
		return nil, "", &storeSetupError{"", "the STS request could not be signed: " + err.Error()}
	}
	u, _ := url.Parse(stsEndpoint)
	resp, err := probeHTTPClient(ctx, c.TLSConfig(u.Hostname())).Do(req)
	if err != nil {
		return nil, "", &storeSetupError{"sts_role_arn", fmt.Sprintf("assuming role %s at %s failed: %s", role, stsEndpoint, netWords(err))}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string }
		}
		_ = xml.Unmarshal(data, &e)
		arg := "sts_role_arn"
		switch e.Error.Code {
		case "InvalidClientTokenId":
			arg = "sts_user_access_key"
		case "SignatureDoesNotMatch":
			arg = "sts_user_secret_key"
		}
		return nil, "", &storeSetupError{arg, fmt.Sprintf("STS refused to assume role %s: %s", role, statusWords(resp.StatusCode, e.Error.Code, e.Error.Message))}
	}
	// decoded without the namespace check: AWS, MinIO and Ceph disagree
	var ar struct {
		Result struct {
			Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
		} `xml:"AssumeRoleResult"`
	}
	if err := xml.Unmarshal(data, &ar); err != nil || ar.Result.Credentials.AccessKeyId == "" {
		return nil, "", &storeSetupError{"", fmt.Sprintf("the STS endpoint %s answered 200 but not with AssumeRole credentials", stsEndpoint)}
	}
	cr := ar.Result.Credentials
	hostport, secure, err := s3Endpoint(loc.Args, s3Names)
	if err != nil {
		return nil, "", err
	}
	scheme := map[bool]string{true: "https", false: "http"}[secure]
	where := fmt.Sprintf("bucket %q at %s://%s (as role %s)", loc.Arg("s3_bucket"), scheme, hostport, role)
	cl, err := c.newMinio(ctx, hostport, secure, credentials.NewStaticV4(cr.AccessKeyId, cr.SecretAccessKey, cr.SessionToken), loc.Arg("s3_region"))
	if err != nil {
		return nil, where, err
	}
	// the temporary keys are not in the config: point key errors at the role
	names := s3Names
	names.access, names.secret = "sts_role_arn", "sts_role_arn"
	return &s3Store{cl: cl, bucket: loc.Arg("s3_bucket"), names: names}, where, nil
}
