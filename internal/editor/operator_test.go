package editor

// Operator mode against a real kube-apiserver (internal/testenv): load
// from the cluster, read-only groups with their reason, "Reconfigure
// Quay", the rollout view, the API route, history, diff and rollback.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/quay-tools/config-editor/internal/operator"
	"github.com/quay-tools/config-editor/internal/testenv"
	"github.com/quay-tools/config-editor/internal/testenv/kubetest"
)

const opConfig = `# cluster bundle
SERVER_HOSTNAME: quay.example.com
DB_URI: postgresql://quay:dbPassw0rdXyz@db.example.com/quay
BUILDLOGS_REDIS: {host: redis.example.com, port: 6379}
USER_EVENTS_REDIS: {host: redis.example.com, port: 6379}
DISTRIBUTED_STORAGE_CONFIG:
  default:
    - LocalStorage
    - storage_path: /datastorage/registry
DISTRIBUTED_STORAGE_PREFERENCE: [default]
DATABASE_SECRET_KEY: 0123456789abcdef0123
SECRET_KEY: 0123456789abcdef0123
REGISTRY_TITLE: Before
`

type opEnv struct {
	t      *testing.T
	k      *testenv.KubeServer
	ns     string
	dyn    dynamic.Interface
	srv    *Server
	op     *Operator
	cookie *http.Cookie
	csrf   string
	sess   *Session
}

func newOpEnv(t *testing.T) *opEnv {
	t.Helper()
	k := kubetest.Server(t)
	e := &opEnv{t: t, k: k, ns: k.Namespace(t), dyn: kubetest.Dynamic(t, k, testenv.KubeAdmin)}
	ctx := context.Background()
	if _, err := kubetest.Clientset(t, k, testenv.KubeAdmin).CoreV1().Secrets(e.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "reg-config-bundle-first", Labels: map[string]string{"quay-registry": "reg"}},
		Data:       map[string][]byte{"config.yaml": []byte(opConfig), "service-ca.crt": testenv.CA().CAPEM},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	comps := []any{}
	for _, c := range []string{"postgres", "redis", "objectstorage"} {
		comps = append(comps, map[string]any{"kind": c, "managed": false})
	}
	if _, err := e.dyn.Resource(operator.Resource).Namespace(e.ns).Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": operator.APIVersion, "kind": operator.Kind, "metadata": map[string]any{"name": "reg"},
		"spec": map[string]any{"configBundleSecret": "reg-config-bundle-first", "components": comps},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := operator.Connect(operator.Options{REST: kubetest.Config(k, testenv.KubeAdmin), Namespace: e.ns, Registry: "reg"})
	if err != nil {
		t.Fatal(err)
	}
	e.op, err = NewOperator(ctx, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.op.Close() })
	e.srv, err = New(Config{
		Password: "operator-test-pw", Operator: e.op, BundlePath: e.op.Dir(), ReadOnlyGroups: e.op.ReadOnlyGroups(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	w := e.send("POST", "/login", url.Values{"username": {User}, "password": {"operator-test-pw"}}, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	for _, ck := range w.Result().Cookies() {
		if ck.Name == CookieName {
			e.cookie = ck
		}
	}
	e.sess = e.srv.sessions.get(e.cookie.Value)
	e.csrf = e.sess.CSRF
	return e
}

func (e *opEnv) send(method, path string, form url.Values, hdr map[string]string) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		if e.csrf != "" && form.Get("_csrf") == "" {
			form.Set("_csrf", e.csrf)
		}
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	if e.cookie != nil {
		r.AddCookie(e.cookie)
	}
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, r)
	return w
}

func (e *opEnv) get(path string) string {
	e.t.Helper()
	w := e.send("GET", path, nil, nil)
	if w.Code != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	return w.Body.String()
}

func (e *opEnv) current() string {
	e.t.Helper()
	u, err := e.dyn.Resource(operator.Resource).Namespace(e.ns).Get(context.Background(), "reg", metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	s, _, _ := unstructured.NestedString(u.Object, "spec", "configBundleSecret")
	return s
}

func (e *opEnv) edit(key string, v any) {
	e.sess.Lock()
	defer e.sess.Unlock()
	if err := e.sess.Work.Config().Set([]string{key}, v); err != nil {
		e.t.Fatal(err)
	}
	e.sess.Changed()
}

func (e *opEnv) setStatus(conds ...map[string]any) {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.dyn.Resource(operator.Resource).Namespace(e.ns).Get(ctx, "reg", metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	list := []any{}
	for _, c := range conds {
		list = append(list, c)
	}
	_ = unstructured.SetNestedSlice(u.Object, list, "status", "conditions")
	_ = unstructured.SetNestedField(u.Object, "https://quay.example.com", "status", "registryEndpoint")
	_ = unstructured.SetNestedField(u.Object, "3.12.1", "status", "currentVersion")
	if _, err := e.dyn.Resource(operator.Resource).Namespace(e.ns).UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func cond(typ, status, reason, msg string) map[string]any {
	ts := time.Now().UTC().Format(time.RFC3339)
	return map[string]any{"type": typ, "status": status, "reason": reason, "message": msg, "lastUpdateTime": ts, "lastTransitionTime": ts}
}

func TestOperatorModePages(t *testing.T) {
	e := newOpEnv(t)

	// Loaded from the cluster; the button is there; managed groups are
	// read-only with the reason.
	overview := e.get("/")
	if !strings.Contains(overview, `href="/operator">Reconfigure Quay</a>`) {
		t.Errorf("no Reconfigure Quay button:\n%s", overview)
	}
	host := e.get("/group/HostSettings")
	if !strings.Contains(host, "managed by the Quay Operator") || !strings.Contains(host, "route component of QuayRegistry "+e.ns+"/reg") || !strings.Contains(host, "managed by default") || !strings.Contains(host, "disabled") {
		t.Errorf("HostSettings not read-only with a reason:\n%s", host)
	}
	if db := e.get("/group/Database"); strings.Contains(db, "managed by the Quay Operator") {
		t.Error("Database is unmanaged here but shown read-only")
	}
	page := e.get("/operator")
	for _, want := range []string{"reg-config-bundle-first", "Reconfigure Quay", "HostSettings</a> (read-only)", "<code>tls</code>"} {
		if !strings.Contains(page, want) {
			t.Errorf("operator page lacks %q", want)
		}
	}

	// Edit and push.
	e.edit("REGISTRY_TITLE", "After")
	w := e.send("POST", "/operator/push", url.Values{}, nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Created bundle Secret reg-config-bundle-") {
		t.Fatalf("push: %d %s", w.Code, w.Body)
	}
	pushed := e.current()
	if pushed == "reg-config-bundle-first" {
		t.Fatal("registry not updated")
	}
	body := w.Body.String()
	if !strings.Contains(body, `hx-get="/operator/rollout"`) {
		t.Errorf("the rollout view does not update itself:\n%s", body)
	}
	// The rollout view follows the status the Operator writes.
	e.setStatus(cond("Available", "False", "MigrationsInProgress", "running database migrations"))
	waitPage(t, e, "/operator/rollout", "MigrationsInProgress")
	e.setStatus(cond("Available", "True", "HealthChecksPassing", "all registry component healthchecks passing"),
		cond("RolloutBlocked", "False", "ComponentsCreationSuccess", "all objects created/updated successfully"))
	final := waitPage(t, e, "/operator/rollout", `data-phase="available"`)
	if strings.Contains(final, "hx-get") || !strings.Contains(final, "https://quay.example.com") || !strings.Contains(final, "3.12.1") {
		t.Errorf("settled rollout view:\n%s", final)
	}
	// Pushing the same again writes nothing.
	w = e.send("POST", "/operator/push", url.Values{}, nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Nothing to push") || e.current() != pushed {
		t.Errorf("identical push: %d %s", w.Code, w.Body)
	}

	// Someone else pushes; our next push is a conflict, nothing written.
	c, err := operator.Connect(operator.Options{REST: kubetest.Config(e.k, testenv.KubeAdmin), Namespace: e.ns, Registry: "reg"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	theirs := l.Bundle.Clone()
	_ = theirs.Config().Set([]string{"REGISTRY_TITLE"}, "Theirs")
	other, err := c.Push(context.Background(), theirs, operator.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.edit("REGISTRY_TITLE", "Mine")
	w = e.send("POST", "/operator/push", url.Values{}, nil)
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "changed since you loaded it") || !strings.Contains(w.Body.String(), `action="/operator/reload"`) {
		t.Errorf("conflicting push: %d %s", w.Code, w.Body)
	}
	if e.current() != other.Secret {
		t.Error("conflicting push overwrote the registry")
	}
	// Reload takes the cluster's bundle.
	w = e.send("POST", "/operator/reload", url.Values{}, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("reload: %d %s", w.Code, w.Body)
	}
	e.sess.Lock()
	title := e.sess.Work.Config().Value()["REGISTRY_TITLE"]
	e.sess.Unlock()
	if title != "Theirs" {
		t.Errorf("after reload REGISTRY_TITLE=%v", title)
	}

	// A pre-flight error refuses the push and is shown.
	e.edit("DB_URI", nil)
	e.sess.Lock()
	_ = e.sess.Work.Config().Delete([]string{"DB_URI"})
	e.sess.Unlock()
	w = e.send("POST", "/operator/push", url.Values{}, nil)
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "required component `postgres` marked as unmanaged") {
		t.Errorf("refused push: %d %s", w.Code, w.Body)
	}

	// History, diff, rollback.
	hist := e.get("/operator/history")
	for _, want := range []string{pushed, other.Secret, "reg-config-bundle-first", "Roll back to this", testenv.KubeAdmin} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %q", want)
		}
	}
	diff := e.get("/operator/diff?from=reg-config-bundle-first")
	if !strings.Contains(diff, "REGISTRY_TITLE") || !strings.Contains(diff, "&#34;Theirs&#34;") || strings.Contains(diff, "dbPassw0rdXyz") {
		t.Errorf("diff page:\n%s", diff)
	}
	w = e.send("POST", "/operator/rollback", url.Values{"secret": {pushed}, "base": {other.Secret}}, nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Rolled back") || e.current() != pushed {
		t.Errorf("rollback: %d %s (current %s)", w.Code, w.Body, e.current())
	}
	// A form without the CSRF token is refused.
	r := httptest.NewRequest("POST", "/operator/rollback", strings.NewReader("secret=reg-config-bundle-first"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(e.cookie)
	rw := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rw, r)
	if rw.Code != http.StatusForbidden || e.current() != pushed {
		t.Errorf("rollback without CSRF: %d", rw.Code)
	}
}

func waitPage(t *testing.T, e *opEnv, path, want string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		body := e.get(path)
		if strings.Contains(body, want) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q; last:\n%s", path, want, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestOperatorAPIPush(t *testing.T) {
	e := newOpEnv(t)
	post := func(body string, query string) (int, pushReply) {
		r := httptest.NewRequest("POST", "/api/v1/config/operator"+query, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.SetBasicAuth(User, "operator-test-pw")
		w := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(w, r)
		var rep pushReply
		if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
			t.Fatalf("answer is not JSON (%d): %s", w.Code, w.Body)
		}
		if strings.Contains(w.Body.String(), "dbPassw0rdXyz") {
			t.Errorf("the answer echoes a secret: %s", w.Body)
		}
		return w.Code, rep
	}
	good, _ := json.Marshal(map[string]any{"config.yaml": strings.Replace(opConfig, "Before", "Via API", 1), "managedFieldGroups": []string{"Database"}})
	code, rep := post(string(good), "")
	if code != 200 || !rep.Created || rep.Secret == "" || rep.Previous != "reg-config-bundle-first" || e.current() != rep.Secret {
		t.Fatalf("API push: %d %+v", code, rep)
	}
	code, rep2 := post(string(good), "")
	if code != 200 || !rep2.Unchanged || rep2.Secret != rep.Secret {
		t.Errorf("identical API push: %d %+v", code, rep2)
	}
	bad, _ := json.Marshal(map[string]any{"config.yaml": strings.Replace(opConfig, "DB_URI: postgresql://quay:dbPassw0rdXyz@db.example.com/quay\n", "", 1)})
	code, rep3 := post(string(bad), "")
	if code != http.StatusUnprocessableEntity || rep3.Error != "refused" || len(rep3.Problems) == 0 || e.current() != rep.Secret {
		t.Errorf("refused API push: %d %+v", code, rep3)
	}
	var found bool
	for _, p := range rep3.Problems {
		found = found || (p.FieldGroup == "Operator" && strings.Contains(p.Message, "postgres"))
	}
	if !found {
		t.Errorf("no Operator problem in %+v", rep3.Problems)
	}
	if code, rep4 := post(string(bad), "?force=true"); code != 200 || !rep4.Created {
		t.Errorf("forced API push: %d %+v", code, rep4)
	}
}
