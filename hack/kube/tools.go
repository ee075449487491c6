//go:build tools

// Package kube only pins k8s.io/kubernetes so that `go build
// k8s.io/kubernetes/cmd/kube-apiserver` (and cmd/kubectl) works from this
// module.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
