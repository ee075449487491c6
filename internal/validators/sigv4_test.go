package validators

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// The SigV4 helper against AWS's published known answers, so the signer is
// checked against AWS and not against itself.
func TestSignV4KnownAnswers(t *testing.T) {
	cases := []struct {
		name                    string
		method, url             string
		headers                 map[string]string
		accessKey, secretKey    string
		region, service, amzDay string
		at                      time.Time
		want                    string
	}{{
		// "get-vanilla" of the Signature Version 4 test suite
		name: "get-vanilla", method: http.MethodGet, url: "https://example.amazonaws.com/",
		accessKey: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		region: "us-east-1", service: "service", at: time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC),
		want: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, " +
			"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	}, {
		// "Example: GET Object" of the S3 header-based authentication docs
		name: "s3-get-object", method: http.MethodGet, url: "https://examplebucket.s3.amazonaws.com/test.txt",
		headers: map[string]string{"Range": "bytes=0-9",
			"X-Amz-Content-Sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		region: "us-east-1", service: "s3", at: time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC),
		want: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
			"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			if err := signV4(context.Background(), req, nil, tc.accessKey, tc.secretKey, tc.region, tc.service, tc.at); err != nil {
				t.Fatal(err)
			}
			if got := req.Header.Get("Authorization"); got != tc.want {
				t.Errorf("Authorization\n got %s\nwant %s", got, tc.want)
			}
			if got, want := req.Header.Get("X-Amz-Date"), tc.at.Format("20060102T150405Z"); got != want {
				t.Errorf("X-Amz-Date %q, want %q", got, want)
			}
		})
	}
}
