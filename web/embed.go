// Package web holds the editor's html/template templates and static assets
// (CSS, JavaScript, the vendored htmx), embedded into the binary.
//
// Layout: templates/layout.html wraps every page; templates/login.html and
// templates/pages/*.html define a "content" block; templates/partials/*.html
// define named fragments that htmx swaps in. static/ is served at /static/.
package web

import "embed"

// FS is the embedded tree: "templates/..." and "static/...".
//
//go:embed templates static
var FS embed.FS
