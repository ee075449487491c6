package operator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// PodSuffix is what the historical Operator appended to a registry's name
// to name its config editor's Deployment (and so its pods).
const PodSuffix = "-quay-config-editor"

// DefaultTimeout bounds every single API call (a watch is bounded by its
// context instead).
const DefaultTimeout = 10 * time.Second

// Options say which cluster and which QuayRegistry to talk to.
type Options struct {
	// Kubeconfig is a kubeconfig path (--kubeconfig). Empty: $KUBECONFIG,
	// then ~/.kube/config; or the in-cluster config when running in a pod
	// and neither is given.
	Kubeconfig string
	// Context selects a kubeconfig context (--context); empty: current.
	Context string
	// Namespace and Registry name the QuayRegistry. Empty: derived from
	// MY_POD_NAMESPACE and MY_POD_NAME (a pod of the Deployment
	// "<registry>-quay-config-editor"), the namespace also from the
	// kubeconfig context or the pod's service account.
	Namespace, Registry string
	// Timeout bounds each API call (DefaultTimeout).
	Timeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string
	// Getenv reads the environment (os.Getenv); tests replace it.
	Getenv func(string) string
	// REST, when set, is used as is instead of kubeconfig or in-cluster
	// configuration (tests, embedding).
	REST *rest.Config
}

// Client talks to one QuayRegistry and its bundle Secrets. It is safe for
// concurrent use.
type Client struct {
	Namespace string
	Registry  string
	// Where describes the cluster for messages: "context prod (https://…)"
	// or "in-cluster (https://…)".
	Where string

	cfg     *rest.Config
	timeout time.Duration
	dyn     dynamic.Interface // bounded: every call has cfg.Timeout
	watch   dynamic.Interface // unbounded client for watches
	rest    rest.Interface    // discovery paths (/version, /apis/…)
}

// ErrorKind classifies what went wrong when talking to the cluster, so
// callers (CLI exit codes, HTTP statuses) and tests can tell them apart.
type ErrorKind string

// Error kinds.
const (
	ErrConfig       ErrorKind = "config"       // no/invalid kubeconfig, unknown context, no target
	ErrUnreachable  ErrorKind = "unreachable"  // network, TLS or timeout
	ErrUnauthorized ErrorKind = "unauthorized" // 401: credentials rejected
	ErrForbidden    ErrorKind = "forbidden"    // 403: RBAC
	ErrNoCRD        ErrorKind = "no-crd"       // quay.redhat.com/v1 not served
	ErrNotFound     ErrorKind = "not-found"    // registry or Secret missing
	ErrConflict     ErrorKind = "conflict"     // the QuayRegistry changed meanwhile
	ErrRefused      ErrorKind = "refused"      // validation/pre-flight errors, admission
	ErrInvalid      ErrorKind = "invalid"      // bad input (bundle, Secret content)
)

// Error is an error with a kind and a message that says what to fix.
type Error struct {
	Kind ErrorKind
	Msg  string
	Err  error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of an *Error in err's chain, or "".
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

func errorf(kind ErrorKind, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// Connect resolves the cluster and the target registry and builds the
// clients. It does not talk to the API server yet: call Check (or any
// operation) for that.
func Connect(opts Options) (*Client, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := &Client{Namespace: opts.Namespace, Registry: opts.Registry, timeout: timeout}
	var ctxNamespace string
	switch {
	case opts.REST != nil:
		c.cfg = rest.CopyConfig(opts.REST)
		c.Where = "API server " + c.cfg.Host
	case opts.Kubeconfig == "" && getenv("KUBECONFIG") == "" && getenv("KUBERNETES_SERVICE_HOST") != "" && opts.Context == "":
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, errorf(ErrConfig, err, "running in a pod but the in-cluster configuration is unusable: %v", err)
		}
		c.cfg = cfg
		c.Where = "in-cluster (" + cfg.Host + ")"
		if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
			ctxNamespace = strings.TrimSpace(string(b))
		}
	default:
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = opts.Kubeconfig
		if k := getenv("KUBECONFIG"); k != "" && opts.Kubeconfig == "" {
			rules.Precedence = splitList(k)
		}
		cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: opts.Context})
		raw, err := cc.RawConfig()
		if err != nil {
			return nil, errorf(ErrConfig, err, "cannot read the kubeconfig %s: %v", kubeconfigName(opts.Kubeconfig, getenv), err)
		}
		name := opts.Context
		if name == "" {
			name = raw.CurrentContext
		}
		if len(raw.Contexts) == 0 {
			return nil, errorf(ErrConfig, nil, "no Kubernetes configuration: not running in a pod, and the kubeconfig %s has no contexts (log in with `oc login`, or pass --kubeconfig)", kubeconfigName(opts.Kubeconfig, getenv))
		}
		kctx, ok := raw.Contexts[name]
		if !ok {
			names := make([]string, 0, len(raw.Contexts))
			for n := range raw.Contexts {
				names = append(names, n)
			}
			sort.Strings(names)
			if name == "" {
				return nil, errorf(ErrConfig, nil, "the kubeconfig %s has no current context: pass --context (one of: %s)", kubeconfigName(opts.Kubeconfig, getenv), strings.Join(names, ", "))
			}
			return nil, errorf(ErrConfig, nil, "kubeconfig context %q does not exist in %s: pass --context with one of: %s", name, kubeconfigName(opts.Kubeconfig, getenv), strings.Join(names, ", "))
		}
		cfg, err := cc.ClientConfig()
		if err != nil {
			return nil, errorf(ErrConfig, err, "kubeconfig context %q is unusable: %v", name, err)
		}
		c.cfg = cfg
		c.Where = fmt.Sprintf("context %s (%s)", name, cfg.Host)
		ctxNamespace = kctx.Namespace
	}
	c.cfg.Timeout = timeout
	if opts.UserAgent != "" {
		c.cfg.UserAgent = opts.UserAgent
	}
	if c.Registry == "" {
		pod := getenv("MY_POD_NAME")
		if pod != "" {
			i := strings.LastIndex(pod, PodSuffix)
			if i <= 0 {
				return nil, errorf(ErrConfig, nil, "cannot tell the QuayRegistry from MY_POD_NAME=%q (expected <registry>%s-…): pass --registry", pod, PodSuffix)
			}
			c.Registry = pod[:i]
			if c.Namespace == "" {
				c.Namespace = getenv("MY_POD_NAMESPACE")
			}
		}
	}
	if c.Namespace == "" {
		c.Namespace = ctxNamespace
	}
	if c.Registry == "" {
		return nil, errorf(ErrConfig, nil, "which QuayRegistry? pass --registry NAME (and --namespace), or run in the editor's pod with MY_POD_NAME and MY_POD_NAMESPACE set")
	}
	if c.Namespace == "" {
		return nil, errorf(ErrConfig, nil, "which namespace holds QuayRegistry %s? pass --namespace", c.Registry)
	}
	var err error
	if c.dyn, c.rest, err = NewDynamic(c.cfg); err != nil {
		return nil, errorf(ErrConfig, err, "client for %s: %v", c.Where, err)
	}
	wcfg := rest.CopyConfig(c.cfg)
	wcfg.Timeout = 0
	if c.watch, err = dynamic.NewForConfig(wcfg); err != nil {
		return nil, errorf(ErrConfig, err, "client for %s: %v", c.Where, err)
	}
	return c, nil
}

func splitList(list string) []string {
	var out []string
	for _, p := range strings.Split(list, string(os.PathListSeparator)) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func kubeconfigName(explicit string, getenv func(string) string) string {
	switch {
	case explicit != "":
		return explicit
	case getenv("KUBECONFIG") != "":
		return "$KUBECONFIG (" + getenv("KUBECONFIG") + ")"
	}
	return "~/.kube/config"
}

// Ref names the registry for messages: "QuayRegistry ns/name".
func (c *Client) Ref() string { return fmt.Sprintf("QuayRegistry %s/%s", c.Namespace, c.Registry) }

func (c *Client) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// Get reads the QuayRegistry.
func (c *Client) Get(ctx context.Context) (*QuayRegistry, error) {
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	u, err := c.dyn.Resource(Resource).Namespace(c.Namespace).Get(ctx, c.Registry, metav1.GetOptions{})
	if err != nil {
		return nil, c.explain(ctx, err, "get", "quayregistries.quay.redhat.com", c.Registry)
	}
	return FromUnstructured(u)
}

// Check proves the client can reach the API server, that the cluster
// serves QuayRegistry and that the registry exists and is readable. Each
// failure is an *Error saying what to fix; the whole check is bounded by
// the client's timeout per call.
func (c *Client) Check(ctx context.Context) (*QuayRegistry, error) {
	bctx, cancel := c.bounded(ctx)
	_, err := serverVersion(bctx, c.rest)
	cancel()
	if err != nil {
		return nil, c.explain(bctx, err, "", "", "")
	}
	return c.Get(ctx)
}

// explain turns a client-go error into an *Error naming the fix.
func (c *Client) explain(ctx context.Context, err error, verb, resource, name string) error {
	var se apierrors.APIStatus
	switch {
	case apierrors.IsUnauthorized(err):
		return errorf(ErrUnauthorized, err, "the Kubernetes API server at %s rejected the credentials (401 Unauthorized): log in again (`oc login`) or fix the token of the kubeconfig user", c.Where)
	case apierrors.IsForbidden(err):
		return errorf(ErrForbidden, err, "not allowed by RBAC on %s: %s — grant the editor's Role (deploy/base/role.yaml: get/list/watch/update/patch on quayregistries, get/list/create/delete on secrets in namespace %s)", c.Where, apiMessage(err), c.Namespace)
	case apierrors.IsNotFound(err) && resource == "quayregistries.quay.redhat.com":
		if !c.servesCRD() {
			return errorf(ErrNoCRD, err, "%s does not serve %s %s: install the Quay Operator (its CRD quayregistries.quay.redhat.com), or pick the cluster where it runs with --context", c.Where, APIVersion, Kind)
		}
		return errorf(ErrNotFound, err, "%s not found on %s%s: check --namespace and --registry", c.Ref(), c.Where, c.listHint(ctx))
	case apierrors.IsNotFound(err):
		return errorf(ErrNotFound, err, "%s %q not found in namespace %s on %s", resource, name, c.Namespace, c.Where)
	case apierrors.IsConflict(err):
		return errorf(ErrConflict, err, "%s changed meanwhile: %s", c.Ref(), apiMessage(err))
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return errorf(ErrRefused, err, "the API server refused to %s %s %s: %s", verb, resource, name, apiMessage(err))
	case errors.As(err, &se) && se.Status().Code != 0 && se.Status().Code < 500:
		return errorf(ErrRefused, err, "the API server refused to %s %s %s (%d): %s", verb, resource, name, se.Status().Code, apiMessage(err))
	}
	return errorf(ErrUnreachable, err, "cannot reach the Kubernetes API server at %s within %s: %s — check that the cluster is up and reachable, and --kubeconfig/--context", c.Where, c.timeout, netCause(err))
}

func apiMessage(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) && se.Status().Message != "" {
		return se.Status().Message
	}
	return err.Error()
}

// netCause shortens a transport error to its cause.
func netCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "no answer (timeout)"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer (timeout)"
	}
	return err.Error()
}

// servesCRD reports whether discovery lists quayregistries in
// quay.redhat.com/v1. On a discovery error it answers true, so the caller
// reports the registry as missing rather than guessing the CRD is.
func (c *Client) servesCRD() bool {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	rl, err := serverResources(ctx, c.rest, APIVersion)
	if err != nil {
		return !apierrors.IsNotFound(err)
	}
	for _, r := range rl.APIResources {
		if r.Name == Resource.Resource {
			return true
		}
	}
	return false
}

func (c *Client) listHint(ctx context.Context) string {
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	l, err := c.dyn.Resource(Resource).Namespace(c.Namespace).List(ctx, metav1.ListOptions{Limit: 20})
	if err != nil || len(l.Items) == 0 {
		return ""
	}
	names := make([]string, 0, len(l.Items))
	for _, it := range l.Items {
		names = append(names, it.GetName())
	}
	return " (QuayRegistries in " + c.Namespace + ": " + strings.Join(names, ", ") + ")"
}

// WhoAmI returns the user name the API server authenticates us as, or ""
// when it cannot tell (SelfSubjectReview is allowed to every
// authenticated user).
func (c *Client) WhoAmI(ctx context.Context) string {
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	r, err := c.dyn.Resource(selfSubjectReviewResource).Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
	}}, metav1.CreateOptions{})
	if err != nil {
		return ""
	}
	name, _, _ := unstructured.NestedString(r.Object, "status", "userInfo", "username")
	return name
}

// Need is one permission the editor uses.
type Need struct {
	Verb, Group, Resource string
}

func (n Need) String() string {
	if n.Group == "" {
		return n.Verb + " " + n.Resource
	}
	return n.Verb + " " + n.Resource + "." + n.Group
}

// Needs are the permissions of deploy/base/role.yaml.
var Needs = []Need{
	{"get", Group, "quayregistries"}, {"list", Group, "quayregistries"}, {"watch", Group, "quayregistries"},
	{"update", Group, "quayregistries"}, {"patch", Group, "quayregistries"},
	{"get", "", "secrets"}, {"list", "", "secrets"}, {"create", "", "secrets"}, {"delete", "", "secrets"},
}

// Missing asks the API server (SelfSubjectAccessReview) which of Needs the
// current user lacks in the namespace.
func (c *Client) Missing(ctx context.Context) ([]Need, error) {
	var out []Need
	for _, n := range Needs {
		bctx, cancel := c.bounded(ctx)
		r, err := c.dyn.Resource(selfSubjectAccessReviewsResource).Create(bctx, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
			"spec": map[string]any{"resourceAttributes": map[string]any{
				"namespace": c.Namespace, "verb": n.Verb, "group": n.Group, "resource": n.Resource,
			}},
		}}, metav1.CreateOptions{})
		cancel()
		if err != nil {
			return nil, c.explain(bctx, err, "create", "selfsubjectaccessreviews", "")
		}
		if allowed, _, _ := unstructured.NestedBool(r.Object, "status", "allowed"); !allowed {
			out = append(out, n)
		}
	}
	return out, nil
}

// unstructuredRegistry reads the raw object (for patches that must keep
// everything else as is).
func (c *Client) getRaw(ctx context.Context) (*unstructured.Unstructured, error) {
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	u, err := c.dyn.Resource(Resource).Namespace(c.Namespace).Get(ctx, c.Registry, metav1.GetOptions{})
	if err != nil {
		return nil, c.explain(ctx, err, "get", "quayregistries.quay.redhat.com", c.Registry)
	}
	return u, nil
}
