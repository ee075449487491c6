package validators

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// AWS Signature Version 4 for the requests the probes send to AWS
// themselves: Elasticsearch (AWS OpenSearch, service "es") and STS
// AssumeRole (service "sts"). S3 requests are signed inside minio-go.
//
// The signing is the AWS SDK's (aws-sdk-go-v2 aws/signer/v4), which takes
// any service name and an explicit time; minio-go's pkg/signer only knows
// the services s3 and sts and always signs at time.Now, so it can neither
// sign for Elasticsearch nor be checked against AWS's published test
// vectors (sigv4_test.go checks this helper against them).

// signV4 signs req for service in region at t with the access key pair;
// body is the request body (nil for none). The signature covers every
// header already set on req (User-Agent and the like excepted), so set
// them before signing.
func signV4(ctx context.Context, req *http.Request, body []byte, accessKey, secretKey, region, service string, t time.Time) error {
	creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}
	return v4.NewSigner().SignHTTP(ctx, creds, req, sha256Hex(body), service, region, t)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
