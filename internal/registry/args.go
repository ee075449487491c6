package registry

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// Typed driver arguments. Each storage driver's arguments decode from the
// loose YAML mapping of DISTRIBUTED_STORAGE_CONFIG into a struct whose
// fields carry an `arg` tag (the Quay argument name) and a `validate` tag
// (go-playground/validator rules). Decoding is forgiving the way Quay is:
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
	errs := decodeFields(args, reflect.ValueOf(dst).Elem())
	if err := argValidator().Struct(dst); err != nil {
		if ves, ok := err.(validator.ValidationErrors); ok {
			for _, fe := range ves {
				if hasArgError(errs, fe.Field()) {
					continue // the decoder already said what is wrong
				}
				errs = append(errs, argError{Arg: fe.Field(), Msg: ruleWords(fe)})
			}
		} else {
			errs = append(errs, argError{Msg: err.Error()})
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

var (
	validateOnce sync.Once
	validate     *validator.Validate
)

// argValidator names fields by their `arg` tag so errors speak Quay's
// argument names.
func argValidator() *validator.Validate {
	validateOnce.Do(func() {
		validate = validator.New(validator.WithRequiredStructEnabled())
		validate.RegisterTagNameFunc(func(f reflect.StructField) string {
			if n := f.Tag.Get("arg"); n != "" {
				return n
			}
			return f.Name
		})
	})
	return validate
}

// ruleWords turns a failed rule into a sentence about the argument.
func ruleWords(fe validator.FieldError) string {
	name := fe.Field()
	switch fe.Tag() {
	case "required":
		return name + " is required"
	case "http_url":
		return fmt.Sprintf("%s %q is not an http(s) URL", name, fe.Value())
	case "startswith":
		return fmt.Sprintf("%s must start with %q", name, fe.Param())
	case "min":
		return fmt.Sprintf("%s must be at least %s", name, fe.Param())
	case "max":
		return fmt.Sprintf("%s must be at most %s", name, fe.Param())
	case "oneof":
		return fmt.Sprintf("%s must be one of %s", name, strings.ReplaceAll(fe.Param(), " ", ", "))
	case "hostname_rfc1123", "hostname", "fqdn":
		return fmt.Sprintf("%s %q is not a host name", name, fe.Value())
	}
	return fmt.Sprintf("%s fails the %s rule", name, fe.Tag())
}
