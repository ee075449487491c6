package schemas

import _ "embed"

// QuayRegistryCRD is the CustomResourceDefinition (YAML) of the Quay
// Operator's QuayRegistry, quay.redhat.com/v1, with the fields the
// Operator mode reads and writes. Tests install it into their API server.
//
//go:embed quayregistry.crd.yaml
var QuayRegistryCRD []byte
