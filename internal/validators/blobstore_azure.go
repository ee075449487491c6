package validators

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/quay-tools/config-editor/internal/secret"
)

// AzureStorage: the account key (SharedKey) or the SAS token, against
// endpoint_url or the public blob endpoint of the account.

type azureStore struct {
	cl        *azblob.Client
	container string
	sas       bool
}

func (c *Context) azureStore(ctx context.Context, loc StorageLocation) (blobStore, string, error) {
	account, key, sas := loc.Arg("azure_account_name"), loc.SecretArg("azure_account_key"), secret.New(strings.TrimPrefix(loc.Arg("sas_token"), "?"))
	container := loc.Arg("azure_container")
	endpoint := loc.Arg("endpoint_url")
	if endpoint == "" {
		endpoint = "https://" + account + ".blob.core.windows.net"
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, "", &storeSetupError{"endpoint_url", fmt.Sprintf("endpoint_url %q is not an http(s) URL", endpoint)}
	}
	endpoint = strings.TrimSuffix(endpoint, "/") + "/"
	where := fmt.Sprintf("container %q at %s", container, strings.TrimSuffix(endpoint, "/"))
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: probeHTTPClient(ctx, c.TLSConfig(u.Hostname())),
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}}
	var cl *azblob.Client
	switch {
	case key != "":
		if _, err := base64.StdEncoding.DecodeString(key.Reveal()); err != nil {
			return nil, "", &storeSetupError{"azure_account_key", "azure_account_key is not base64; copy the key from the storage account's Access keys page"}
		}
		cred, err := azblob.NewSharedKeyCredential(account, key.Reveal())
		if err != nil {
			return nil, "", &storeSetupError{"azure_account_key", "azure_account_key is not usable"}
		}
		cl, err = azblob.NewClientWithSharedKeyCredential(endpoint, cred, opts)
		if err != nil {
			return nil, where, err
		}
	case sas != "":
		if _, err := url.ParseQuery(sas.Reveal()); err != nil {
			return nil, "", &storeSetupError{"sas_token", "sas_token is not a URL query string (it looks like sv=...&sig=...)"}
		}
		cl, err = azblob.NewClientWithNoCredential(endpoint+"?"+sas.Reveal(), opts)
		if err != nil {
			return nil, where, errors.New("the endpoint and SAS token do not form a valid URL")
		}
	default:
		return nil, "", &storeSetupError{"azure_account_key", "neither azure_account_key nor sas_token is set, so there is nothing to authenticate with"}
	}
	return &azureStore{cl: cl, container: container, sas: key == ""}, where, nil
}

func (s *azureStore) put(ctx context.Context, key string, data []byte) error {
	_, err := s.cl.UploadBuffer(ctx, s.container, key, data, nil)
	return err
}

func (s *azureStore) get(ctx context.Context, key string) ([]byte, error) {
	resp, err := s.cl.DownloadStream(ctx, s.container, key, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

func (s *azureStore) del(ctx context.Context, key string) error {
	_, err := s.cl.DeleteBlob(ctx, s.container, key, nil)
	return err
}

func (s *azureStore) explain(op string, err error) (string, string) {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return "", netWords(err)
	}
	cred := "azure_account_key"
	if s.sas {
		cred = "sas_token"
	}
	switch re.ErrorCode {
	case "ContainerNotFound":
		return "azure_container", "the container does not exist (ContainerNotFound); create it or correct azure_container"
	case "AuthenticationFailed":
		if s.sas {
			return cred, "the server rejected the SAS token (AuthenticationFailed): it is malformed, expired or signed with another key; generate a new one"
		}
		return cred, "the server rejected the request signature (AuthenticationFailed): the account key does not belong to this account; check azure_account_name and azure_account_key"
	case "AuthorizationFailure":
		if !s.sas {
			// an account key has every permission: a refusal means the key
			// is wrong (the emulator says so this way) or a firewall rule
			return cred, "the server refused the signed request (AuthorizationFailure): the account key does not belong to this account, or the account's network rules block this client"
		}
		return cred, fmt.Sprintf("not allowed to %s (AuthorizationFailure): the SAS token lacks the permission or is not valid for this container; Quay needs read, write, delete, list and create", op)
	case "AuthorizationPermissionMismatch", "AuthorizationResourceTypeMismatch", "AuthorizationServiceMismatch":
		return cred, fmt.Sprintf("not allowed to %s (%s): the SAS token or key lacks the permission; Quay needs read, write, delete, list and create", op, re.ErrorCode)
	case "ResourceNotFound", "AccountNotFound":
		return "azure_account_name", fmt.Sprintf("the server does not know this account or resource (%s); check azure_account_name and endpoint_url", re.ErrorCode)
	}
	if re.StatusCode == http.StatusForbidden {
		return cred, fmt.Sprintf("the server answered 403 Forbidden (%s): the credentials are wrong or lack the permission to %s", codeOr(re.ErrorCode, "no code"), op)
	}
	return "", "the server answered " + statusWords(re.StatusCode, re.ErrorCode, "")
}
