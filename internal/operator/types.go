package operator

import (
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Group, Version and Kind of the Quay Operator's custom resource.
const (
	Group      = "quay.redhat.com"
	Version    = "v1"
	Kind       = "QuayRegistry"
	APIVersion = Group + "/" + Version
)

// Resource is the QuayRegistry resource for the dynamic client.
var Resource = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "quayregistries"}

// Component kinds of spec.components.
const (
	ComponentQuay          = "quay"
	ComponentPostgres      = "postgres"
	ComponentClair         = "clair"
	ComponentClairPostgres = "clairpostgres"
	ComponentRedis         = "redis"
	ComponentHPA           = "horizontalpodautoscaler"
	ComponentObjectStorage = "objectstorage"
	ComponentRoute         = "route"
	ComponentMirror        = "mirror"
	ComponentMonitoring    = "monitoring"
	ComponentTLS           = "tls"
)

// AllComponents lists the component kinds in the Operator's order.
var AllComponents = []string{
	ComponentQuay, ComponentPostgres, ComponentClair, ComponentRedis, ComponentHPA,
	ComponentObjectStorage, ComponentRoute, ComponentMirror, ComponentMonitoring,
	ComponentTLS, ComponentClairPostgres,
}

// QuayRegistry is the part of a quay.redhat.com/v1 QuayRegistry that
// config-editor reads. It is decoded from the unstructured object the
// dynamic client returns; writes never send it back whole (they patch one
// field), so fields it does not model are never lost.
type QuayRegistry struct {
	Name            string
	Namespace       string
	UID             types.UID
	ResourceVersion string
	Generation      int64
	Spec            Spec
	Status          Status
}

// Spec is the QuayRegistry's spec.
type Spec struct {
	ConfigBundleSecret string      `json:"configBundleSecret,omitempty"`
	Components         []Component `json:"components,omitempty"`
}

// Component is one entry of spec.components.
type Component struct {
	Kind      string     `json:"kind"`
	Managed   bool       `json:"managed"`
	Overrides *Overrides `json:"overrides,omitempty"`
}

// Overrides are a component's deployment overrides.
type Overrides struct {
	Env         []EnvVar          `json:"env,omitempty"`
	Replicas    *int32            `json:"replicas,omitempty"`
	VolumeSize  json.RawMessage   `json:"volumeSize,omitempty"`
	Resources   json.RawMessage   `json:"resources,omitempty"`
	Affinity    json.RawMessage   `json:"affinity,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// EnvVar is an environment override (valueFrom is kept as raw JSON).
type EnvVar struct {
	Name      string          `json:"name"`
	Value     string          `json:"value,omitempty"`
	ValueFrom json.RawMessage `json:"valueFrom,omitempty"`
}

// Status is what the Operator reports.
type Status struct {
	Conditions       []Condition `json:"conditions,omitempty"`
	RegistryEndpoint string      `json:"registryEndpoint,omitempty"`
	CurrentVersion   string      `json:"currentVersion,omitempty"`
	LastUpdated      string      `json:"lastUpdated,omitempty"`
}

// Condition is one entry of status.conditions.
type Condition struct {
	Type               string      `json:"type"`
	Status             string      `json:"status"`
	Reason             string      `json:"reason,omitempty"`
	Message            string      `json:"message,omitempty"`
	LastUpdateTime     metav1.Time `json:"lastUpdateTime,omitzero"`
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitzero"`
}

// Condition types and reasons the Operator reports.
const (
	ConditionAvailable         = "Available"
	ConditionRolloutBlocked    = "RolloutBlocked"
	ConditionComponentsCreated = "ComponentsCreated"

	ReasonHealthChecksPassing       = "HealthChecksPassing"
	ReasonMigrationsInProgress      = "MigrationsInProgress"
	ReasonMigrationsFailed          = "MigrationsFailed"
	ReasonConfigInvalid             = "ConfigInvalid"
	ReasonComponentsCreationSuccess = "ComponentsCreationSuccess"
	ReasonComponentCreationFailed   = "ComponentCreationFailed"
)

// Condition returns the condition of a type, or nil.
func (s Status) Condition(typ string) *Condition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == typ {
			return &s.Conditions[i]
		}
	}
	return nil
}

// Component returns the declared component of a kind, or nil.
func (s Spec) Component(kind string) *Component {
	for i := range s.Components {
		if s.Components[i].Kind == kind {
			return &s.Components[i]
		}
	}
	return nil
}

// FromUnstructured decodes a QuayRegistry object.
func FromUnstructured(u *unstructured.Unstructured) (*QuayRegistry, error) {
	if u.GetKind() != "" && u.GetKind() != Kind {
		return nil, fmt.Errorf("object %s is a %s, not a %s", u.GetName(), u.GetKind(), Kind)
	}
	qr := &QuayRegistry{
		Name: u.GetName(), Namespace: u.GetNamespace(), UID: u.GetUID(),
		ResourceVersion: u.GetResourceVersion(), Generation: u.GetGeneration(),
	}
	if spec, ok := u.Object["spec"]; ok {
		if err := remarshal(spec, &qr.Spec); err != nil {
			return nil, fmt.Errorf("QuayRegistry %s/%s: spec: %w", qr.Namespace, qr.Name, err)
		}
	}
	if st, ok := u.Object["status"]; ok {
		if err := remarshal(st, &qr.Status); err != nil {
			return nil, fmt.Errorf("QuayRegistry %s/%s: status: %w", qr.Namespace, qr.Name, err)
		}
	}
	return qr, nil
}

func remarshal(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
