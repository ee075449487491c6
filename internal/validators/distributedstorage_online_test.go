package validators

import (
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/quay-tools/config-editor/internal/problem"
	"github.com/quay-tools/config-editor/internal/testenv"
)

const locPath = "DISTRIBUTED_STORAGE_CONFIG.default"

func storageBundle(t *testing.T, driver string, args map[string]any, withCA bool) []problem.Problem {
	t.Helper()
	cfg := map[string]any{
		"DISTRIBUTED_STORAGE_CONFIG":     map[string]any{"default": []any{driver, args}},
		"DISTRIBUTED_STORAGE_PREFERENCE": []any{"default"},
	}
	var files map[string][]byte
	if withCA {
		files = map[string][]byte{"extra_ca_certs/test-ca.crt": testenv.CA().CAPEM}
	}
	return validateOnline(t, onlineBundle(t, cfg, files), groupStorage)
}

// wantStorageError checks one error at the location (or one of its
// arguments) tagged DISTRIBUTED_STORAGE_CONFIG.
func wantStorageError(t *testing.T, ps []problem.Problem, arg string, subs ...string) {
	t.Helper()
	path := locPath
	if arg != "" {
		path += "[1]." + arg
	}
	p := wantProblem(t, ps, groupStorage, path, problem.Error, subs...)
	if len(p.Tags) != 1 || p.Tags[0] != "DISTRIBUTED_STORAGE_CONFIG" {
		t.Fatalf("tags %v, want [DISTRIBUTED_STORAGE_CONFIG]", p.Tags)
	}
}

// s3Leftovers lists the probe objects left in the bucket under prefix.
func s3Leftovers(t *testing.T, s3 *testenv.S3Server, prefix string) []string {
	t.Helper()
	resp, err := s3.Request(http.MethodGet, "/"+s3.Bucket+"?list-type=2&prefix="+url.QueryEscape(prefix), nil, s3.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Contents []struct{ Key string }
	}
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("list: %s %s", resp.Status, data)
	}
	if err := xml.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range out.Contents {
		if strings.Contains(c.Key, ".config-editor-probe-") {
			keys = append(keys, c.Key)
		}
	}
	return keys
}

func TestStorageS3Online(t *testing.T) {
	s3 := testenv.S3(t)
	base := func() map[string]any {
		return map[string]any{
			"storage_path": "/datastorage/registry", "s3_bucket": s3.Bucket,
			"s3_access_key": s3.AccessKey, "s3_secret_key": s3.SecretKey, "s3_region": s3.Region,
			"endpoint_url": s3.URL(),
		}
	}
	t.Run("OK with endpoint_url", func(t *testing.T) {
		ps := storageBundle(t, "S3Storage", base(), true)
		wantNoErrors(t, ps, groupStorage)
		if left := s3Leftovers(t, s3, "datastorage/registry/"); len(left) > 0 {
			t.Fatalf("probe objects left behind: %v", left)
		}
	})
	t.Run("OK with host and port", func(t *testing.T) {
		args := base()
		delete(args, "endpoint_url")
		args["host"], args["port"] = s3.Host, s3.Port
		wantNoErrors(t, storageBundle(t, "S3Storage", args, true), groupStorage)
	})
	t.Run("signature v2 against a v4-only server", func(t *testing.T) {
		args := base()
		args["signature_version"] = "v2"
		ps := storageBundle(t, "S3Storage", args, true)
		// versitygw only speaks SigV4: the v2 request is refused, and the
		// message must point at signature_version
		wantStorageError(t, ps, "signature_version", "writing a test object", "s3v4")
	})
	t.Run("wrong secret", func(t *testing.T) {
		args := base()
		args["s3_secret_key"] = "not-the-secret-0123456789"
		ps := storageBundle(t, "S3Storage", args, true)
		wantStorageError(t, ps, "s3_secret_key", "SignatureDoesNotMatch", "writing a test object", s3.Endpoint)
		wantNoSecret(t, ps, "not-the-secret-0123456789", s3.SecretKey)
	})
	t.Run("unknown access key", func(t *testing.T) {
		args := base()
		args["s3_access_key"] = "AKNOBODY"
		ps := storageBundle(t, "S3Storage", args, true)
		wantStorageError(t, ps, "s3_access_key", "InvalidAccessKeyId")
		wantNoSecret(t, ps, s3.SecretKey)
	})
	t.Run("missing bucket", func(t *testing.T) {
		args := base()
		args["s3_bucket"] = "no-such-bucket"
		ps := storageBundle(t, "S3Storage", args, true)
		wantStorageError(t, ps, "s3_bucket", "does not exist", `"no-such-bucket"`)
	})
	t.Run("untrusted CA", func(t *testing.T) {
		ps := storageBundle(t, "S3Storage", base(), false)
		wantStorageError(t, ps, "", "unknown authority", "extra_ca_certs")
		wantNoSecret(t, ps, s3.SecretKey)
	})
	t.Run("refused", func(t *testing.T) {
		args := base()
		args["endpoint_url"] = "https://127.0.0.1:1"
		ps := storageBundle(t, "S3Storage", args, true)
		wantStorageError(t, ps, "", "connection refused")
	})
	for _, driver := range []string{"RadosGWStorage", "RHOCSStorage", "IBMCloudStorage"} {
		t.Run(driver, func(t *testing.T) {
			args := map[string]any{
				"hostname": s3.Host, "port": s3.Port, "is_secure": true, "storage_path": "/x",
				"access_key": s3.AccessKey, "secret_key": s3.SecretKey, "bucket_name": s3.Bucket,
			}
			wantNoErrors(t, storageBundle(t, driver, args, true), groupStorage)
			args["secret_key"] = "wrong-wrong-wrong"
			ps := storageBundle(t, driver, args, true)
			wantStorageError(t, ps, "secret_key", "SignatureDoesNotMatch")
			wantNoSecret(t, ps, "wrong-wrong-wrong")
			args["is_secure"] = false
			ps = storageBundle(t, driver, args, true)
			wantStorageError(t, ps, "", "http://"+s3.Endpoint)
		})
	}
	t.Run("GoogleCloudStorage via endpoint_url", func(t *testing.T) {
		args := map[string]any{"storage_path": "/gcs", "bucket_name": s3.Bucket,
			"access_key": s3.AccessKey, "secret_key": s3.SecretKey, "endpoint_url": s3.URL()}
		wantNoErrors(t, storageBundle(t, "GoogleCloudStorage", args, true), groupStorage)
		args["bucket_name"] = "gone"
		wantStorageError(t, storageBundle(t, "GoogleCloudStorage", args, true), "bucket_name", "does not exist")
	})
	t.Run("MultiCDNStorage S3 part", func(t *testing.T) {
		args := map[string]any{"default_provider": "cf", "providers": map[string]any{"cf": []any{"CloudFlareStorage", map[string]any{}}},
			"storage_config": base()}
		wantNoErrors(t, storageBundle(t, "MultiCDNStorage", args, true), groupStorage)
	})
}

// fakeSTS answers AssumeRole like AWS STS: it needs a SigV4 Authorization
// from the expected access key (it cannot check the signature itself, not
// holding AWS's secret derivation; a wrong key ID is refused the way AWS
// does) and hands out the S3 server's keys as the "temporary" credentials.
func fakeSTS(t *testing.T, userKey, tempAK, tempSK string) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var urls []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		urls = append(urls, r.URL.String())
		mu.Unlock()
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "text/xml")
		if !strings.Contains(r.Header.Get("Authorization"), "Credential="+userKey+"/") {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>`)
			return
		}
		if r.PostForm.Get("Action") != "AssumeRole" || !strings.HasPrefix(r.PostForm.Get("RoleArn"), "arn:aws:iam::") {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `<ErrorResponse><Error><Code>ValidationError</Code><Message>bad role</Message></Error></ErrorResponse>`)
			return
		}
		io.WriteString(w, `<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>`+tempAK+`</AccessKeyId><SecretAccessKey>`+tempSK+
			`</SecretAccessKey><Expiration>`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>`)
	}))
	t.Cleanup(srv.Close)
	return srv, &urls
}

func TestStorageSTSOnline(t *testing.T) {
	s3 := testenv.S3(t)
	srv, urls := fakeSTS(t, "AKSTSUSER", s3.AccessKey, s3.SecretKey)
	stsCA := map[string][]byte{"extra_ca_certs/sts.crt": pemOf(srv.Certificate().Raw)}
	run := func(userKey string) []problem.Problem {
		cfg := map[string]any{"DISTRIBUTED_STORAGE_CONFIG": map[string]any{"default": []any{"STSS3Storage", map[string]any{
			"storage_path": "/sts", "s3_bucket": s3.Bucket, "s3_region": s3.Region, "endpoint_url": s3.URL(),
			"sts_role_arn": "arn:aws:iam::123456789012:role/quay", "sts_user_access_key": userKey, "sts_user_secret_key": "sts-user-secret"}}},
			"DISTRIBUTED_STORAGE_PREFERENCE": []any{"default"}}
		files := map[string][]byte{"extra_ca_certs/test-ca.crt": testenv.CA().CAPEM}
		for k, v := range stsCA {
			files[k] = v
		}
		return validateOnlineHosted(t, onlineBundle(t, cfg, files), HostedEndpoints{STS: srv.URL}, groupStorage)
	}
	wantNoErrors(t, run("AKSTSUSER"), groupStorage)
	ps := run("AKOTHER")
	wantStorageError(t, ps, "sts_user_access_key", "InvalidClientTokenId", "arn:aws:iam::123456789012:role/quay")
	wantNoSecret(t, ps, "sts-user-secret", s3.SecretKey)
	for _, u := range *urls {
		if strings.Contains(u, "sts-user-secret") {
			t.Fatalf("secret in STS URL %s", u)
		}
	}
}

func TestStorageAzureOnline(t *testing.T) {
	az := testenv.Azurite(t)
	base := func() map[string]any {
		return map[string]any{"storage_path": "/azure", "azure_container": az.Container,
			"azure_account_name": az.Account, "azure_account_key": az.Key, "endpoint_url": az.BlobURL}
	}
	t.Run("account key OK", func(t *testing.T) {
		wantNoErrors(t, storageBundle(t, "AzureStorage", base(), false), groupStorage)
	})
	t.Run("wrong key", func(t *testing.T) {
		args := base()
		wrong := "d3JvbmcgYWNjb3VudCBrZXkgd3JvbmcgYWNjb3VudCBrZXk="
		args["azure_account_key"] = wrong
		ps := storageBundle(t, "AzureStorage", args, false)
		wantStorageError(t, ps, "azure_account_key", "account key", "writing a test object")
		wantNoSecret(t, ps, wrong, az.Key)
	})
	t.Run("missing container", func(t *testing.T) {
		args := base()
		args["azure_container"] = "nothere"
		wantStorageError(t, storageBundle(t, "AzureStorage", args, false), "azure_container", "ContainerNotFound")
	})
	t.Run("SAS token", func(t *testing.T) {
		cred, err := azblob.NewSharedKeyCredential(az.Account, az.Key)
		if err != nil {
			t.Fatal(err)
		}
		mk := func(perms sas.ContainerPermissions) string {
			q, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, StartTime: time.Now().Add(-time.Hour),
				ExpiryTime: time.Now().Add(time.Hour), Permissions: perms.String(), ContainerName: az.Container}.SignWithSharedKey(cred)
			if err != nil {
				t.Fatal(err)
			}
			return q.Encode()
		}
		args := base()
		delete(args, "azure_account_key")
		full := mk(sas.ContainerPermissions{Read: true, Write: true, Delete: true, Create: true, List: true})
		args["sas_token"] = "?" + full
		ps := storageBundle(t, "AzureStorage", args, false)
		wantNoErrors(t, ps, groupStorage)

		readOnly := mk(sas.ContainerPermissions{Read: true, List: true})
		args["sas_token"] = readOnly
		ps = storageBundle(t, "AzureStorage", args, false)
		wantStorageError(t, ps, "sas_token", "writing a test object")
		wantNoSecret(t, ps, readOnly, url.QueryEscape(readOnly))
		sig, _ := url.ParseQuery(readOnly)
		wantNoSecret(t, ps, sig.Get("sig"))

		// write but no read or delete: each later step fails on its own
		args["sas_token"] = mk(sas.ContainerPermissions{Write: true, Create: true})
		ps = storageBundle(t, "AzureStorage", args, false)
		wantStorageError(t, ps, "sas_token", "reading it back failed", "not allowed to read")
		wantStorageError(t, ps, "sas_token", "could not be deleted", "not allowed to delete")
	})
}

func TestStorageAzureTLSOnline(t *testing.T) {
	az := testenv.AzuriteTLS(t)
	args := map[string]any{"storage_path": "/azure", "azure_container": az.Container,
		"azure_account_name": az.Account, "azure_account_key": az.Key, "endpoint_url": az.BlobURL}
	wantNoErrors(t, storageBundle(t, "AzureStorage", args, true), groupStorage)
	wantStorageError(t, storageBundle(t, "AzureStorage", args, false), "", "unknown authority")
}

func TestStorageSwiftOnline(t *testing.T) {
	sw := testenv.Swift(t)
	base := func() map[string]any {
		return map[string]any{"storage_path": "/swift", "swift_container": sw.Container, "auth_url": sw.AuthURL,
			"auth_version": 1, "swift_user": sw.User, "swift_password": sw.Key}
	}
	t.Run("auth v1 OK", func(t *testing.T) {
		wantNoErrors(t, storageBundle(t, "SwiftStorage", base(), false), groupStorage)
	})
	t.Run("wrong password", func(t *testing.T) {
		args := base()
		args["swift_password"] = "not-the-password"
		ps := storageBundle(t, "SwiftStorage", args, false)
		wantStorageError(t, ps, "swift_password", "authentication at", "refused")
		wantNoSecret(t, ps, "not-the-password")
	})
	t.Run("missing container", func(t *testing.T) {
		args := base()
		args["swift_container"] = "nothere"
		wantStorageError(t, storageBundle(t, "SwiftStorage", args, false), "swift_container", "does not exist")
	})
	t.Run("ca_cert_path not in bundle", func(t *testing.T) {
		args := base()
		args["ca_cert_path"] = "conf/stack/swift-ca.pem"
		wantStorageError(t, storageBundle(t, "SwiftStorage", args, false), "ca_cert_path", "swift-ca.pem")
	})
}

func TestStorageLocalOnline(t *testing.T) {
	dir := t.TempDir()
	t.Run("writable", func(t *testing.T) {
		ps := storageBundle(t, "LocalStorage", map[string]any{"storage_path": dir}, false)
		wantNoErrors(t, ps, groupStorage)
		entries, _ := os.ReadDir(dir)
		if len(entries) != 0 {
			t.Fatalf("probe left %d files", len(entries))
		}
	})
	t.Run("missing", func(t *testing.T) {
		ps := storageBundle(t, "LocalStorage", map[string]any{"storage_path": filepath.Join(dir, "nope")}, false)
		wantStorageError(t, ps, "storage_path", "does not exist", "machine running the validator")
	})
	t.Run("read-only", func(t *testing.T) {
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			// root ignores permission bits; sysfs refuses file creation
			// even to root
			ro = "/sys"
		}
		ps := storageBundle(t, "LocalStorage", map[string]any{"storage_path": ro}, false)
		wantStorageError(t, ps, "storage_path", "cannot write", "permission denied")
	})
	t.Run("a file, not a directory", func(t *testing.T) {
		f := filepath.Join(dir, "file")
		_ = os.WriteFile(f, nil, 0o600)
		wantStorageError(t, storageBundle(t, "LocalStorage", map[string]any{"storage_path": f}, false), "storage_path", "not a directory")
	})
}

func pemOf(der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}) }

// fakeKeystone is an httptest Keystone (v2.0 and v3; Keystone cannot run
// here) in front of the real swifttest object server: it checks the
// credentials and scope the probe sends, then hands out a token it got
// from swifttest, with swifttest's storage URL in the service catalog.
func fakeKeystone(t *testing.T, sw *testenv.SwiftServer, user, password, domain, project string) *httptest.Server {
	t.Helper()
	swiftToken := func() (token, storageURL string) {
		req, _ := http.NewRequest("GET", sw.AuthURL, nil)
		req.Header.Set("X-Auth-User", sw.User)
		req.Header.Set("X-Auth-Key", sw.Key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("swifttest auth: %v", err)
			return "", ""
		}
		resp.Body.Close()
		return resp.Header.Get("X-Auth-Token"), resp.Header.Get("X-Storage-Url")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			t.Errorf("Keystone request with a query: %s", r.URL)
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		get := func(path ...string) string {
			var cur any = body
			for _, p := range path {
				m, _ := cur.(map[string]any)
				cur = m[p]
			}
			s, _ := cur.(string)
			return s
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v3/auth/tokens":
			if get("auth", "identity", "password", "user", "name") != user || get("auth", "identity", "password", "user", "password") != password ||
				get("auth", "identity", "password", "user", "domain", "name") != domain || get("auth", "scope", "project", "name") != project && get("auth", "scope", "project", "id") != project+"-id" {
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}`)
				return
			}
			token, storageURL := swiftToken()
			w.Header().Set("X-Subject-Token", token)
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"token": {"expires_at": %q, "catalog": [{"type": "object-store", "name": "swift", "endpoints": [
				{"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": %q}]}]}}`,
				time.Now().Add(time.Hour).UTC().Format(time.RFC3339), storageURL)
		case "/v2.0/tokens":
			if get("auth", "passwordCredentials", "username") != user || get("auth", "passwordCredentials", "password") != password ||
				get("auth", "tenantName") != project {
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}`)
				return
			}
			token, storageURL := swiftToken()
			fmt.Fprintf(w, `{"access": {"token": {"id": %q, "expires": %q}, "serviceCatalog": [{"type": "object-store", "name": "swift",
				"endpoints": [{"region": "RegionOne", "publicURL": %q, "internalURL": %q}]}]}}`,
				token, time.Now().Add(time.Hour).UTC().Format(time.RFC3339), storageURL, storageURL)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestStorageSwiftKeystoneOnline(t *testing.T) {
	sw := testenv.Swift(t)
	ks := fakeKeystone(t, sw, "quay", "keystone-secret", "Default", "registry")
	args := func(version int, password string) map[string]any {
		a := map[string]any{"storage_path": "/swift", "swift_container": sw.Container, "auth_version": version,
			"swift_user": "quay", "swift_password": password,
			// Quay's start-up validation wants tenant_id with auth v3
			"os_options": map[string]any{"user_domain_name": "Default", "tenant_id": "registry-id", "project_name": "registry", "project_domain_name": "Default"}}
		if version == 3 {
			a["auth_url"] = ks.URL + "/v3"
		} else {
			a["auth_url"] = ks.URL + "/v2.0"
		}
		return a
	}
	for _, v := range []int{2, 3} {
		t.Run(fmt.Sprintf("auth v%d OK", v), func(t *testing.T) {
			cfg := map[string]any{"DISTRIBUTED_STORAGE_CONFIG": map[string]any{"default": []any{"SwiftStorage", args(v, "keystone-secret")}},
				"DISTRIBUTED_STORAGE_PREFERENCE": []any{"default"}}
			ps, passed := validatePassed(t, cfg, nil, groupStorage)
			wantNoErrors(t, ps, groupStorage)
			// the object round trip went through the token Keystone issued
			wantPassed(t, passed, groupStorage, "wrote, read back and deleted a test object", sw.Container)
		})
		t.Run(fmt.Sprintf("auth v%d wrong password", v), func(t *testing.T) {
			ps := storageBundle(t, "SwiftStorage", args(v, "wrong-secret-value"), false)
			wantStorageError(t, ps, "swift_password", "authentication at", "refused")
			wantNoSecret(t, ps, "wrong-secret-value", "keystone-secret")
		})
	}
	t.Run("auth v3 wrong project", func(t *testing.T) {
		a := args(3, "keystone-secret")
		a["os_options"].(map[string]any)["project_name"] = "other"
		a["os_options"].(map[string]any)["tenant_id"] = "other-id"
		wantStorageError(t, storageBundle(t, "SwiftStorage", a, false), "swift_password", "refused")
	})
}
