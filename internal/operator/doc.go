// Package operator is config-editor's Operator mode: it talks to the
// Kubernetes API directly (k8s.io/client-go) to read a Quay Operator
// QuayRegistry and its config bundle Secret, check the Operator's own
// rules, push a new bundle, list and roll back earlier bundles, follow the
// rollout, and write QuayRegistry manifests. No Operator endpoint is
// involved (Operator 3.10 removed the one the historical editor used).
//
// # The QuayRegistry client
//
// The client for quay.redhat.com/v1 QuayRegistry is hand-written over
// client-go's dynamic client, not generated: config-editor reads a handful
// of fields (spec.configBundleSecret, spec.components, status) and writes
// exactly one (spec.configBundleSecret). [FromUnstructured] decodes the
// fields we read into [QuayRegistry]; every write is a JSON merge patch of
// that one field carrying the resourceVersion read before, so fields this
// package does not model (set by the Operator or a newer CRD) are never
// sent back, and a concurrent change is a 409 Conflict instead of a lost
// update. Generated clientsets (code-generator, controller-runtime) would
// add a scheme, deep-copy code and a second copy of the Operator's API
// types for no gain here.
//
// The built-in resources (Secrets, SelfSubjectReview,
// SelfSubjectAccessReview, discovery) go through the same dynamic client
// and a plain REST client too, not client-go's typed clientset
// (k8s.io/client-go/kubernetes): that one links every API group of
// k8s.io/api and registers them all at start, which every command of the
// one binary (an offline `validate` included) paid for in size, start-up
// time and resident memory. Secrets are decoded into [Secret], which has
// the fields of a core/v1 Secret we use: k8s.io/api/core/v1 itself is
// 1.8 MB of code registered at start.
//
// # Connecting
//
// [Connect] uses the in-cluster configuration when running in a pod
// without --kubeconfig/KUBECONFIG, else the kubeconfig (--kubeconfig,
// $KUBECONFIG, ~/.kube/config) and --context. The registry is
// --namespace/--registry, or derived from MY_POD_NAMESPACE and MY_POD_NAME
// ("<registry>-quay-config-editor-…", the historical deployment). Every
// call is bounded ([Options.Timeout]); failures are an [*Error] whose
// [ErrorKind] tells an unreachable API server, rejected credentials, a
// missing CRD, missing RBAC, a missing registry and a conflict apart, with
// a message naming the fix.
//
// # Pushing
//
// [Client.Push] never edits a Secret: it creates a new immutable Secret
// "<registry>-config-bundle-<first 10 hex of the content's SHA-256>"
// (labels quay-registry=<registry>, quay-config-editor/bundle=true; owned
// by the registry; annotations say when, by whom and what it replaced),
// then updates spec.configBundleSecret. Both writes run as a server-side
// dry run first. The previous Secret is untouched, so a rollback
// ([Client.Rollback]) only points back. Identical content writes nothing;
// old bundle Secrets beyond [PushOptions.Keep] are deleted, never the
// current or the previous one, and never a Secret config-editor did not
// create. OpenShift's CA keys (service-ca.crt, ca-bundle.crt) are never
// pushed. The keys and files of Operator-managed components keep the
// cluster's values ([Protect]).
//
// # Pre-flight
//
// [Preflight] checks the Operator's rules (unmanaged required components
// need their fields; managed components must not carry them, except route,
// mirror and redis; managed tls needs a managed route; unmanaged tls needs
// a pair valid for SERVER_HOSTNAME and BUILDMAN_HOSTNAME; clairpostgres
// unmanaged under a managed clair needs a connstring; overrides only on
// managed components, and replicas only 0 under a managed HPA) as problems
// of field group "Operator", in the Operator's words where it has them.
package operator
