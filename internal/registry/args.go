package registry

import (
	"fmt"
	"math"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Typed driver arguments. Each storage driver's arguments decode from the
// loose YAML mapping of DISTRIBUTED_STORAGE_CONFIG into a struct whose
// fields carry an `arg` tag (the Quay argument name) and a `validate` tag
// (rules in go-playground/validator's syntax, checked by checkRules: the
// few this package uses did not justify linking that library and its
// dependencies into every command). Decoding is forgiving the way Quay is:
// a port may be written as 443 or "443", a flag as true or "true"; anything
// else is a typed error naming the argument.

// argError is one argument that cannot be used.
type argError struct {
	Arg string // Quay's argument name ("" for the whole mapping)
	Msg string
}

// decodeArgs fills the struct pointed to by dst from args, then validates
// it. It returns every problem, one per argument.
func decodeArgs(args map[string]any, dst any) []argError {
	rv := reflect.ValueOf(dst).Elem()
	errs := decodeFields(args, rv)
	for _, e := range checkRules(rv) {
		if !hasArgError(errs, e.Arg) { // else the decoder already said what is wrong
			errs = append(errs, e)
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Arg < errs[j].Arg })
	return errs
}

// decodeFields fills the `arg`-tagged fields of a struct value, walking
// into embedded structs.
func decodeFields(args map[string]any, rv reflect.Value) []argError {
	var errs []argError
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			errs = append(errs, decodeFields(args, rv.Field(i))...)
			continue
		}
		name := f.Tag.Get("arg")
		if name == "" {
			continue
		}
		raw, ok := args[name]
		if !ok || raw == nil {
			continue
		}
		if msg := setArg(rv.Field(i), raw); msg != "" {
			errs = append(errs, argError{Arg: name, Msg: name + " " + msg})
		}
	}
	return errs
}

func hasArgError(errs []argError, arg string) bool {
	for _, e := range errs {
		if e.Arg == arg {
			return true
		}
	}
	return false
}

// setArg converts one YAML value into the field's type; it returns what is
// wrong in words, or "".
func setArg(fv reflect.Value, raw any) string {
	switch fv.Kind() {
	case reflect.String:
		s, ok := scalarString(raw)
		if !ok {
			return fmt.Sprintf("must be a string, not %s", kindWords(raw))
		}
		fv.SetString(s)
	case reflect.Int:
		n, ok := scalarInt(raw)
		if !ok {
			return fmt.Sprintf("must be a whole number, not %s", kindWords(raw))
		}
		fv.SetInt(int64(n))
	case reflect.Pointer:
		if fv.Type().Elem().Kind() != reflect.Bool {
			return "has an unsupported type"
		}
		b, ok := scalarBool(raw)
		if !ok {
			return fmt.Sprintf("must be true or false, not %s", kindWords(raw))
		}
		fv.Set(reflect.ValueOf(&b))
	case reflect.Map:
		m, ok := raw.(map[string]any)
		if !ok {
			return fmt.Sprintf("must be a mapping, not %s", kindWords(raw))
		}
		fv.Set(reflect.ValueOf(m))
	default:
		return "has an unsupported type"
	}
	return ""
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

func scalarInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		if x > math.MaxInt32 || x < math.MinInt32 {
			return 0, false
		}
		return int(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < math.MaxInt32 {
			return int(x), true
		}
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		return n, err == nil
	}
	return 0, false
}

func scalarBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "on", "1":
			return true, true
		case "false", "no", "off", "0":
			return false, true
		}
	}
	return false, false
}

func kindWords(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return strconv.Quote(x)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", v)
}

// checkRules checks the `validate` tags of a decoded struct value, walking
// into embedded structs, and returns one error per failing field (its
// first failing rule). Rules: required, omitempty (skip the rest when the
// field is its zero value), min=N and max=N (integers), oneof=a b c
// (strings), startswith=S, http_url.
func checkRules(rv reflect.Value) []argError {
	var errs []argError
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			errs = append(errs, checkRules(rv.Field(i))...)
			continue
		}
		rules := f.Tag.Get("validate")
		if rules == "" {
			continue
		}
		name := f.Tag.Get("arg")
		if name == "" {
			name = f.Name
		}
		fv := rv.Field(i)
		for _, rule := range strings.Split(rules, ",") {
			tag, param, _ := strings.Cut(rule, "=")
			if tag == "omitempty" {
				if fv.IsZero() {
					break
				}
				continue
			}
			if msg := checkRule(name, tag, param, fv); msg != "" {
				errs = append(errs, argError{Arg: name, Msg: msg})
				break
			}
		}
	}
	return errs
}

// checkRule returns what is wrong with fv under one rule, in words, or "".
func checkRule(name, tag, param string, fv reflect.Value) string {
	switch tag {
	case "required":
		switch fv.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
			if fv.IsNil() {
				return name + " is required"
			}
		default:
			if fv.IsZero() {
				return name + " is required"
			}
		}
	case "min", "max":
		n, err := strconv.ParseInt(param, 10, 64)
		if err != nil || fv.Kind() != reflect.Int {
			panic("registry: rule " + tag + "=" + param + " on a field that is not an int")
		}
		if tag == "min" && fv.Int() < n {
			return fmt.Sprintf("%s must be at least %s", name, param)
		}
		if tag == "max" && fv.Int() > n {
			return fmt.Sprintf("%s must be at most %s", name, param)
		}
	case "oneof":
		for _, v := range strings.Fields(param) {
			if fv.String() == v {
				return ""
			}
		}
		return fmt.Sprintf("%s must be one of %s", name, strings.Join(strings.Fields(param), ", "))
	case "startswith":
		if !strings.HasPrefix(fv.String(), param) {
			return fmt.Sprintf("%s must start with %q", name, param)
		}
	case "http_url":
		if !isHTTPURL(fv.String()) {
			return fmt.Sprintf("%s %q is not an http(s) URL", name, fv.String())
		}
	default:
		panic("registry: unknown validate rule " + tag)
	}
	return ""
}

// isHTTPURL is go-playground/validator's http_url: an absolute http or
// https URL with a host (scheme compared case-insensitively).
func isHTTPURL(s string) bool {
	u, err := url.Parse(strings.ToLower(s))
	return err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https")
}
