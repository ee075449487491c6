package problem

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestPathRendering(t *testing.T) {
	cases := []struct {
		path *Path
		want string
		root string
		segs []string
	}{
		{NewPath("SERVER_HOSTNAME"), "SERVER_HOSTNAME", "SERVER_HOSTNAME", []string{"SERVER_HOSTNAME"}},
		{NewPath("DB_CONNECTION_ARGS", "sslmode"), "DB_CONNECTION_ARGS.sslmode", "DB_CONNECTION_ARGS", []string{"DB_CONNECTION_ARGS", "sslmode"}},
		{NewPath("BUILDLOGS_REDIS").Child("port"), "BUILDLOGS_REDIS.port", "BUILDLOGS_REDIS", []string{"BUILDLOGS_REDIS", "port"}},
		{NewPath("DISTRIBUTED_STORAGE_CONFIG", "default").Index(1).Child("s3_bucket"),
			"DISTRIBUTED_STORAGE_CONFIG.default[1].s3_bucket", "DISTRIBUTED_STORAGE_CONFIG",
			[]string{"DISTRIBUTED_STORAGE_CONFIG", "default", "1", "s3_bucket"}},
		{NewPath("SUPER_USERS").Index(0), "SUPER_USERS[0]", "SUPER_USERS", []string{"SUPER_USERS", "0"}},
		{NewPath("A").Index(2).Index(10), "A[2][10]", "A", []string{"A", "2", "10"}},
	}
	for _, tc := range cases {
		if got := tc.path.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
		if got := tc.path.Root(); got != tc.root {
			t.Errorf("%s: Root() = %q, want %q", tc.want, got, tc.root)
		}
		if got := tc.path.Segments(); !reflect.DeepEqual(got, tc.segs) {
			t.Errorf("%s: Segments() = %q, want %q", tc.want, got, tc.segs)
		}
	}
	var none *Path
	if got := none.String(); got != "" {
		t.Errorf("nil path renders as %q, want empty", got)
	}
}

// A path is a value: extending it never changes the path it grew from.
func TestPathIsImmutable(t *testing.T) {
	base := NewPath("DISTRIBUTED_STORAGE_CONFIG", "default")
	a := base.Index(0)
	b := base.Index(1).Child("s3_bucket")
	if base.String() != "DISTRIBUTED_STORAGE_CONFIG.default" || a.String() != "DISTRIBUTED_STORAGE_CONFIG.default[0]" ||
		b.String() != "DISTRIBUTED_STORAGE_CONFIG.default[1].s3_bucket" {
		t.Errorf("paths interfere: base %s, a %s, b %s", base, a, b)
	}
}

func TestListRecordsSeverityTagsAndMessage(t *testing.T) {
	var l List
	l.Errorf("Redis", NewPath("BUILDLOGS_REDIS", "port"), "%s must be an integer, not a %s.", "BUILDLOGS_REDIS.port", "string")
	l.Warnf("Database", NewPath("DB_CONNECTION_ARGS", "sslmode"), "sslmode %q does not verify the server", "prefer")
	l.ErrorTags("DistributedStorage", NewPath("DISTRIBUTED_STORAGE_CONFIG"), []string{"DISTRIBUTED_STORAGE_CONFIG", "DISTRIBUTED_STORAGE_PREFERENCE"}, "no location %s", "us")
	l.WarnTags("CustomCertificates", nil, []string{"extra_ca_certs/x.crt"}, "x.crt is not a certificate")
	l.Passedf("Database", NewPath("DB_URI"), "connected as %s", "quay")
	l.Required("ServerHostname", NewPath("SERVER_HOSTNAME"), "")
	l.Required("Redis", NewPath("BUILDLOGS_REDIS", "host"), "when BUILDLOGS_REDIS is set")

	want := []struct {
		sev     Severity
		group   string
		tags    []string
		message string
		path    string
	}{
		{Error, "Redis", []string{"BUILDLOGS_REDIS"}, "BUILDLOGS_REDIS.port must be an integer, not a string.", "BUILDLOGS_REDIS.port"},
		{Warning, "Database", []string{"DB_CONNECTION_ARGS"}, `sslmode "prefer" does not verify the server`, "DB_CONNECTION_ARGS.sslmode"},
		{Error, "DistributedStorage", []string{"DISTRIBUTED_STORAGE_CONFIG", "DISTRIBUTED_STORAGE_PREFERENCE"}, "no location us", "DISTRIBUTED_STORAGE_CONFIG"},
		{Warning, "CustomCertificates", []string{"extra_ca_certs/x.crt"}, "x.crt is not a certificate", ""},
		{Passed, "Database", []string{"DB_URI"}, "connected as quay", "DB_URI"},
		{Error, "ServerHostname", []string{"SERVER_HOSTNAME"}, "SERVER_HOSTNAME is required.", "SERVER_HOSTNAME"},
		{Error, "Redis", []string{"BUILDLOGS_REDIS"}, "BUILDLOGS_REDIS.host is required when BUILDLOGS_REDIS is set.", "BUILDLOGS_REDIS.host"},
	}
	if len(l) != len(want) {
		t.Fatalf("%d problems, want %d: %v", len(l), len(want), l)
	}
	for i, w := range want {
		p := l[i]
		if p.Severity != w.sev || p.FieldGroup != w.group || !reflect.DeepEqual(p.Tags, w.tags) || p.Message != w.message {
			t.Errorf("problem %d = %+v, want %+v", i, p, w)
		}
		if got := pathText(t, p); got != w.path {
			t.Errorf("problem %d path = %q, want %q", i, got, w.path)
		}
	}
}

// pathText reads a problem's path the way clients do: from the wire.
func pathText(t *testing.T, p Problem) string {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var wire struct{ Path string }
	if err := json.Unmarshal(data, &wire); err != nil {
		t.Fatal(err)
	}
	return wire.Path
}

func TestHasErrors(t *testing.T) {
	var l List
	if HasErrors(l) {
		t.Error("an empty list has errors")
	}
	l.Warnf("G", NewPath("A"), "advice")
	l.Passedf("G", NewPath("B"), "proved")
	if HasErrors(l) {
		t.Error("warnings and passed checks count as errors")
	}
	l.Errorf("G", NewPath("C"), "broken")
	if !HasErrors(l) {
		t.Error("an error is not seen")
	}
}

func TestString(t *testing.T) {
	var l List
	l.Errorf("Redis", NewPath("BUILDLOGS_REDIS", "port"), "must be an integer")
	l.WarnTags("CustomCertificates", nil, []string{"extra_ca_certs/x.crt", "ssl.cert"}, "not a certificate")
	withLine := l[0]
	withLine.Line = 12

	cases := []struct {
		p    Problem
		want string
	}{
		{l[0], "error Redis BUILDLOGS_REDIS.port: must be an integer"},
		{withLine, "error Redis BUILDLOGS_REDIS.port (line 12): must be an integer"},
		// without a path the first tag says where
		{l[1], "warning CustomCertificates extra_ca_certs/x.crt: not a certificate"},
	}
	for _, tc := range cases {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

// The wire keys FieldGroup, Tags and Message are what existing automation
// parses; Path and Line are left out when unknown.
func TestJSONWireKeys(t *testing.T) {
	var l List
	l.Errorf("Redis", NewPath("BUILDLOGS_REDIS", "port"), "BUILDLOGS_REDIS.port must be an integer, not a string.")
	l[0].Line = 1
	data, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"FieldGroup":"Redis","Tags":["BUILDLOGS_REDIS"],"Message":"BUILDLOGS_REDIS.port must be an integer, not a string.","Path":"BUILDLOGS_REDIS.port","Severity":"error","Line":1}]`
	if string(data) != want {
		t.Errorf("JSON\n got %s\nwant %s", data, want)
	}

	var bare List
	bare.WarnTags("CustomCertificates", nil, []string{"ssl.cert"}, "expires soon")
	data, err = json.Marshal(bare[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"FieldGroup", "Tags", "Message", "Severity"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %s missing from %s", k, data)
		}
	}
	for _, k := range []string{"Path", "Line"} {
		if _, ok := m[k]; ok {
			t.Errorf("key %s present although unknown: %s", k, data)
		}
	}
	if m["Severity"] != "warning" {
		t.Errorf("Severity = %v", m["Severity"])
	}

	// what the historical tool wrote (three keys) still reads
	var old []Problem
	if err := json.Unmarshal([]byte(`[{"FieldGroup":"Database","Tags":["DB_URI"],"Message":"cannot connect"}]`), &old); err != nil {
		t.Fatal(err)
	}
	if len(old) != 1 || old[0].FieldGroup != "Database" || !reflect.DeepEqual(old[0].Tags, []string{"DB_URI"}) || old[0].Message != "cannot connect" {
		t.Errorf("historical problem read as %+v", old)
	}
}

func TestSortOrdersByGroupPathSeverityMessage(t *testing.T) {
	var l List
	l.Warnf("Redis", NewPath("BUILDLOGS_REDIS", "port"), "b warning")
	l.Errorf("Redis", NewPath("BUILDLOGS_REDIS", "port"), "z error")
	l.Errorf("Redis", NewPath("BUILDLOGS_REDIS", "port"), "a error")
	l.Errorf("Redis", NewPath("BUILDLOGS_REDIS", "host"), "host error")
	l.Errorf("Database", NewPath("DB_URI"), "db error")
	l.Warnf("AccessSettings", NewPath("FEATURE_X"), "access warning")
	l.Errorf("Redis", NewPath("USER_EVENTS_REDIS"), "events error")

	Sort(l)
	var got []string
	for _, p := range l {
		got = append(got, p.FieldGroup+" "+pathText(t, p)+" "+p.Message)
	}
	want := []string{
		"AccessSettings FEATURE_X access warning",
		"Database DB_URI db error",
		"Redis BUILDLOGS_REDIS.host host error",
		"Redis BUILDLOGS_REDIS.port a error",
		"Redis BUILDLOGS_REDIS.port z error", // errors before warnings on one path
		"Redis BUILDLOGS_REDIS.port b warning",
		"Redis USER_EVENTS_REDIS events error",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sorted:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Sort is stable: problems equal in every sort key keep the order in which
// they were found, so output does not depend on the sort algorithm.
func TestSortIsStable(t *testing.T) {
	var l List
	const n = 60 // enough that an unstable sort would reorder them
	for i := range n {
		group := []string{"B", "A", "C"}[i%3]
		l.WarnTags(group, NewPath("KEY"), []string{strconv.Itoa(i)}, "same message")
	}
	Sort(l)
	last := map[string]int{}
	for _, p := range l {
		i, _ := strconv.Atoi(p.Tags[0])
		if prev, seen := last[p.FieldGroup]; seen && i < prev {
			t.Fatalf("group %s: problem %d sorted after %d although found before it", p.FieldGroup, i, prev)
		}
		last[p.FieldGroup] = i
	}
	if l[0].FieldGroup != "A" || l[n-1].FieldGroup != "C" {
		t.Errorf("groups not ordered: first %s, last %s", l[0].FieldGroup, l[n-1].FieldGroup)
	}
}
