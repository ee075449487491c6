// Package webhook is config-editor's validating admission webhook
// (`config-editor webhook`): it reviews a Quay config bundle when it is
// written to the cluster (`oc apply`, `oc edit secret`, the console), so a
// broken bundle is refused before the Quay Operator tries to roll it out.
//
// # What is reviewed
//
// POST /validate answers admission.k8s.io/v1 AdmissionReviews for:
//
//   - Secrets, CREATE and UPDATE, labelled quay-config-editor/bundle=true
//     (config-editor's push sets it; hand-editors add it): reviewed from
//     the request alone, with no API call.
//   - Other Secrets, when a QuayRegistry of their namespace names them in
//     spec.configBundleSecret, or their quay-registry=<name> label names a
//     QuayRegistry that exists. QuayRegistries come from a client-go
//     dynamic informer ([Cache]): one list and a watch, indexed by
//     configBundleSecret; a review asks the API server nothing. Any other
//     Secret is admitted unreviewed (and the shipped
//     ValidatingWebhookConfiguration does not even send those: only
//     Secrets with a config.yaml key reach the webhook).
//   - QuayRegistry UPDATEs that switch spec.configBundleSecret from one
//     Secret to another: the new Secret is read with one bounded Get
//     ([Clients.SecretGetter], 2 s) and reviewed against the updated
//     registry. The webhook never lists or watches Secrets, so its
//     ClusterRole needs only get on them and it holds no copy of the
//     cluster's Secrets. A missing Secret, or one that cannot be read, is
//     admitted with a warning (a manifest set may create it next). The
//     first assignment (from empty) is the Operator's own and is not
//     reviewed.
//
// An UPDATE that leaves a Secret's data as it was (labels, annotations,
// owner references) is admitted unreviewed, so the Operator and other
// controllers can always touch the metadata of an existing bundle.
//
// # The review
//
// [Check] runs the offline validation (validators mode offline: no socket
// is opened, no probe runs) and, for each known registry, the Operator's
// pre-flight rules of internal/operator with the field groups of the
// components that registry manages left out, as a push does. A labelled
// Secret with no known registry gets the offline validation alone, with
// the field groups of Operator components it sets no key of left out (the
// Operator may manage them). Errors deny: status.code 403, status.message
// a summary line then one line per problem ("path (config.yaml line N):
// message", errors first, at most [DefaultMaxLines]). Every problem is
// also returned as a warning ("error: …" / "warning: …"), so kubectl
// prints each one; warnings alone admit with the warnings. Messages are
// scrubbed of the bundle's secret values, and the webhook logs one line
// per review without any content.
//
// # Failure policy
//
// The shipped ValidatingWebhookConfiguration uses failurePolicy: Ignore
// with timeoutSeconds: 5: when the webhook is down, slow or not ready
// (/validate answers 503 until the QuayRegistry cache is synced), the API
// server admits the write, so a webhook outage never blocks the cluster.
// With failurePolicy: Fail an outage refuses every reviewed write (bundle
// Secrets and configBundleSecret switches) until the webhook is back;
// choose it only with several replicas and a PodDisruptionBudget.
//
// # Metrics
//
// GET /metrics: config_editor_webhook_requests_total{code},
// config_editor_webhook_reviews_total{kind,result} (result admitted,
// denied or skipped) and config_editor_webhook_review_duration_seconds
// {kind,result}.
package webhook
