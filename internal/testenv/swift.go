package testenv

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ncw/swift/v2/swifttest"
)

// SwiftServer is an in-process OpenStack Swift (ncw/swift/v2/swifttest) on
// 127.0.0.1 with auth v1 only, and a container created.
type SwiftServer struct {
	AuthURL   string // http://127.0.0.1:PORT/v1.0 (auth v1)
	Addr      string // 127.0.0.1:PORT
	User      string // "swifttest"
	Key       string // "swifttest"
	Container string // "quay", created

	srv *swifttest.SwiftServer
}

var sharedSwift = newShared[SwiftServer]()

// Swift returns the shared in-process Swift server, starting it if needed.
func Swift(t testing.TB) *SwiftServer {
	t.Helper()
	return sharedSwift.get(t, "swift", startSwift)
}

func startSwift(e *env) (*SwiftServer, error) {
	srv, err := swifttest.NewSwiftServer("127.0.0.1")
	if err != nil {
		return nil, err
	}
	e.onStop("swift", srv.Close)
	s := &SwiftServer{
		AuthURL: srv.AuthURL, Addr: srv.Listener.Addr().String(),
		User: swifttest.TEST_ACCOUNT, Key: swifttest.TEST_ACCOUNT, Container: "quay", srv: srv,
	}
	storageURL, token, err := s.Auth(s.User, s.Key)
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequest(http.MethodPut, storageURL+"/"+s.Container, nil)
	req.Header.Set("X-Auth-Token", token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("create container: %s: %s", resp.Status, b)
	}
	return s, nil
}

// Auth performs a v1 authentication and returns the storage URL and token.
func (s *SwiftServer) Auth(user, key string) (storageURL, token string, err error) {
	req, _ := http.NewRequest(http.MethodGet, s.AuthURL, nil)
	req.Header.Set("X-Auth-User", user)
	req.Header.Set("X-Auth-Key", key)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", "", fmt.Errorf("swift auth: %s", resp.Status)
	}
	return resp.Header.Get("X-Storage-Url"), resp.Header.Get("X-Auth-Token"), nil
}
