package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/quay-tools/config-editor/internal/testenv"
	"github.com/quay-tools/config-editor/internal/testenv/kubetest"
)

func TestWebhookCommandFlags(t *testing.T) {
	ca := testenv.CA()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"webhook"}, "--tls-cert and --tls-key are required"},
		{[]string{"webhook", "--tls-cert", ca.ServerCertFile}, "--tls-cert and --tls-key are required"},
		{[]string{"webhook", "--tls-cert", ca.ServerCertFile, "--tls-key", ca.CAFile}, "TLS key pair"},
		{[]string{"webhook", "--tls-cert", ca.ServerCertFile, "--tls-key", ca.ServerKeyFile, "--log-format", "xml"}, "unknown --log-format"},
		{[]string{"webhook", "extra"}, "unexpected argument"},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errOut, exitUsage, c.want)
		}
	}
}

// TestWebhookCommand runs `config-editor webhook` against a real
// kube-apiserver: ready once its QuayRegistry cache is synced, it denies a
// broken bundle, logs the review without content, counts it in /metrics
// and stops on cancel.
func TestWebhookCommand(t *testing.T) {
	k := kubetest.Server(t)
	ca := testenv.CA()
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &lockedBuffer{}
	var out lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"webhook", "--tls-cert", ca.ServerCertFile, "--tls-key", ca.ServerKeyFile, "--addr", addr,
			"--kubeconfig", k.KubeconfigFile(t, testenv.KubeAdmin, ""), "--log-format", "json"}, &out, logs)
	}()
	base := "https://" + addr
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.CertPool()}}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := cl.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case code := <-done:
			t.Fatalf("webhook exited %d: %s", code, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready: %v %s", err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	cfg := "SERVER_HOSTNAME: quay.example.com\nDB_URI: postgresql://quay:pw-in-uri-777@db:notaport/quay\n"
	secret, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "b", "namespace": "quay", "labels": map[string]string{"quay-config-editor/bundle": "true"}},
		"data":     map[string][]byte{"config.yaml": []byte(cfg)}})
	body, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "u1", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Secret"},
			Name: "b", Namespace: "quay", Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: secret}},
	})
	resp, err := cl.Post(base+"/validate", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var rev admissionv1.AdmissionReview
	if err := json.Unmarshal(raw, &rev); err != nil || rev.Response == nil || rev.Response.Allowed || rev.Response.UID != "u1" ||
		!strings.Contains(rev.Response.Result.Message, "DB_URI (config.yaml line 2): DB_URI cannot be parsed as a URI") {
		t.Fatalf("review: %v %s", err, raw)
	}
	resp, err = cl.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(raw, []byte(`config_editor_webhook_reviews_total{kind="Secret",result="denied"} 1`)) {
		t.Errorf("/metrics lacks the denial")
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d after cancel: %s", code, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("webhook did not stop")
	}
	l := logs.String()
	if !strings.Contains(l, `"msg":"review"`) || !strings.Contains(l, `"result":"denied"`) || !strings.Contains(l, `"errors":1`) {
		t.Errorf("no review log line:\n%s", l)
	}
	if strings.Contains(l+out.String(), "pw-in-uri-777") || strings.Contains(l, "notaport") {
		t.Errorf("the log shows bundle content:\n%s", l)
	}
	if !strings.Contains(out.String(), "config-editor webhook listening on https://"+addr+"/validate") {
		t.Errorf("stdout %q", out.String())
	}
}
