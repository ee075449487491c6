package problem

import (
	"fmt"
	"strings"
)

// The constructors below build the common problems the way apimachinery's
// field.Required, field.Invalid and field.NotSupported do, with the wording
// clients already compare. Each names its subject by the rendered path
// (config.yaml for the root), tags the path's top-level key and is an
// error, except UnknownKey, which is a warning.

// Required is "<path> is required." or, with why, "<path> is required
// <why>."; a why that starts with ';' or ',' follows without a space.
func Required(group string, path *Path, why string) Problem {
	if why != "" && why[0] != ';' && why[0] != ',' {
		why = " " + why
	}
	return at(Error, group, path, fmt.Sprintf("%s is required%s.", subject(path), why))
}

// Invalid is a value of the wrong type or form: "<path> <detail>.", for
// example detail "must be an integer, not a string".
func Invalid(group string, path *Path, detail string) Problem {
	return at(Error, group, path, fmt.Sprintf("%s %s.", subject(path), detail))
}

// NotSupported is a value outside a fixed set: "<path> must be one of
// <allowed>; got <value>." (with one allowed value "must be <it>"). The
// caller renders value and the allowed values as they should read, quotes
// included; an empty value (a secret, a mapping) is left out.
func NotSupported(group string, path *Path, value string, allowed []string) Problem {
	want := strings.Join(allowed, ", ")
	if len(allowed) > 1 {
		want = "one of " + want
	}
	if value != "" {
		value = "; got " + value
	}
	return at(Error, group, path, fmt.Sprintf("%s must be %s%s.", subject(path), want, value))
}

// UnknownKey is a key that has no effect, a warning: "<path> is not a key
// Quay knows; it will be carried along but has no effect.", or with a
// suggestion "<path> is not a key Quay knows (did you mean <suggestion>?).".
func UnknownKey(group string, path *Path, suggestion string) Problem {
	msg := fmt.Sprintf("%s is not a key Quay knows; it will be carried along but has no effect.", subject(path))
	if suggestion != "" {
		msg = fmt.Sprintf("%s is not a key Quay knows (did you mean %s?).", subject(path), suggestion)
	}
	return at(Warning, group, path, msg)
}

func subject(path *Path) string {
	if path == nil {
		return "config.yaml"
	}
	return path.String()
}

func at(sev Severity, group string, path *Path, msg string) Problem {
	tags := []string{}
	if path != nil {
		tags = []string{path.Root()}
	}
	return Problem{FieldGroup: group, Tags: tags, Message: msg, Path: path, Severity: sev}
}
