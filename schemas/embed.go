// Package schemas embeds the JSON Schemas shipped with config-editor. The
// Quay config schema is the single catalogue of field groups: keys, types,
// defaults, secret flags and Operator ownership all come from it.
package schemas

import _ "embed"

// QuayConfig is the JSON Schema (2020-12) of Quay's config.yaml.
//
//go:embed quay-config.schema.json
var QuayConfig []byte

// QuayConfigURL is the identifier the schema is compiled under.
const QuayConfigURL = "https://config-editor.local/schemas/quay-config.schema.json"
