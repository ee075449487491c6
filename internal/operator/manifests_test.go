package operator

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/quay-tools/config-editor/internal/bundle"
)

func readSeed(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "seed003", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The seed's geo-replication bundle gives the seed's US and EU QuayRegistry
// manifests: byte for byte with the seed's names, and the same objects.
func TestManifestsSeed003(t *testing.T) {
	b, err := bundle.New(readSeed(t, "config.yaml"), bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !GeoReplicated(b) {
		t.Fatal("seed 003 bundle not seen as geo-replicated")
	}
	ms := Manifests(b, ManifestOptions{Name: "example-registry", Namespace: "quay-enterprise", Secret: "georep-config-bundle"})
	if len(ms) != 2 {
		t.Fatalf("got %d manifests, want 2 (US, EU)", len(ms))
	}
	for i, want := range []struct{ loc, file string }{{"usstorage", "us.yaml"}, {"eustorage", "eu.yaml"}} {
		m := ms[i]
		if m.Location != want.loc {
			t.Errorf("manifest %d prefers %q, want %q", i, m.Location, want.loc)
		}
		golden := readSeed(t, want.file)
		// Text: the manifest is the seed's, after our one comment line.
		body := string(m.YAML)
		if !strings.HasPrefix(body, "# Cluster ") {
			t.Errorf("manifest %d has no cluster comment:\n%s", i, body)
		}
		body = body[strings.Index(body, "\n")+1:]
		if body != string(golden) {
			t.Errorf("manifest for %s differs from seed 003:\n--- got\n%s--- want\n%s", want.loc, body, golden)
		}
		// Objects: equal after decoding (independent of layout).
		var got, exp any
		if err := yaml.Unmarshal(m.YAML, &got); err != nil {
			t.Fatalf("manifest %d is not YAML: %v", i, err)
		}
		if err := yaml.Unmarshal(golden, &exp); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("manifest for %s decodes differently from seed 003", want.loc)
		}
	}
	// The stream is two YAML documents.
	dec := yaml.NewDecoder(strings.NewReader(string(JoinManifests(ms))))
	n := 0
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			break
		}
		n++
	}
	if n != 2 {
		t.Errorf("joined stream has %d documents, want 2", n)
	}
	cmd := SecretCommand(b, ManifestOptions{Secret: "georep-config-bundle", Namespace: "quay-enterprise"})
	if cmd != "oc create secret generic --from-file config.yaml=./config.yaml georep-config-bundle -n quay-enterprise" {
		t.Errorf("secret command: %s", cmd)
	}
}

func TestManifestsSingleCluster(t *testing.T) {
	b, err := bundle.New([]byte("SERVER_HOSTNAME: quay.example.com\nDB_URI: postgresql://q:p@db/quay\n"), bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetFile("extra_ca_certs/corp ca.crt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := b.SetFile("ssl.cert", []byte("c")); err != nil {
		t.Fatal(err)
	}
	if err := b.SetFile("ssl.key", []byte("k")); err != nil {
		t.Fatal(err)
	}
	ms := Manifests(b, ManifestOptions{Name: "reg", Namespace: "ns"})
	if len(ms) != 1 || ms[0].Location != "" {
		t.Fatalf("got %d manifests", len(ms))
	}
	var obj struct {
		Metadata struct{ Name, Namespace string }
		Spec     struct {
			ConfigBundleSecret string      `yaml:"configBundleSecret"`
			Components         []Component `yaml:"components"`
		}
	}
	if err := yaml.Unmarshal(ms[0].YAML, &obj); err != nil {
		t.Fatal(err)
	}
	if obj.Metadata.Name != "reg" || obj.Metadata.Namespace != "ns" || obj.Spec.ConfigBundleSecret != "reg-config-bundle" {
		t.Errorf("metadata/spec: %+v", obj)
	}
	want := map[string]bool{"objectstorage": true, "route": true, "tls": false, "postgres": false, "redis": true}
	got := map[string]bool{}
	for _, c := range obj.Spec.Components {
		got[c.Kind] = c.Managed
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("components %v, want %v", got, want)
	}
	cmd := SecretCommand(b, ManifestOptions{Name: "reg", Namespace: "ns"})
	want2 := "oc create secret generic --from-file config.yaml=./config.yaml --from-file 'extra_ca_cert_corp ca.crt=./extra_ca_certs/corp ca.crt' --from-file ssl.cert=./ssl.cert --from-file ssl.key=./ssl.key reg-config-bundle -n ns"
	if cmd != want2 {
		t.Errorf("secret command:\n got %s\nwant %s", cmd, want2)
	}
}

func TestScalarQuoting(t *testing.T) {
	for _, in := range []string{"usstorage", "true", "123", "a b", "x: y", "", "- x", "null", "#c"} {
		got := scalar(in)
		var back string
		if err := yaml.Unmarshal([]byte("v: "+got), &struct {
			V *string `yaml:"v"`
		}{&back}); err != nil {
			t.Errorf("scalar(%q) = %s: not YAML: %v", in, got, err)
		}
		if back != in {
			t.Errorf("scalar(%q) = %s reads back as %q", in, got, back)
		}
	}
}
