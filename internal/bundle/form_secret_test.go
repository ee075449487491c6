package bundle

import (
	"strings"
	"testing"
)

func TestFromSecretDataRefusesBadKeys(t *testing.T) {
	cfg := []byte("A: 1\n")
	cases := []struct {
		name string
		data map[string][]byte
		lim  Limits
		want string
	}{
		{"slash", map[string][]byte{"config.yaml": cfg, "extra_ca_certs/x": nil}, Limits{}, `secret key "extra_ca_certs/x" is not a valid key`},
		{"dot dot", map[string][]byte{"config.yaml": cfg, "..": nil}, Limits{}, `not a valid key`},
		{"dot", map[string][]byte{"config.yaml": cfg, ".": nil}, Limits{}, `not a valid key`},
		{"no config", map[string][]byte{"ssl.cert": nil}, Limits{}, `no config.yaml`},
		{"config not utf-8", map[string][]byte{"config.yaml": []byte("A: \xff\n")}, Limits{}, `UTF-8`},
		{"too big", map[string][]byte{"config.yaml": cfg, "a": make([]byte, 600), "b": make([]byte, 600)}, Limits{MaxTotalBytes: 1000}, `more than 1000 bytes`},
		{"too many", map[string][]byte{"config.yaml": cfg, "a": nil, "b": nil, "c": nil}, Limits{MaxFiles: 2}, `more than 2 files`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromSecretData(tc.data, tc.lim)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSecretDataRefusesUnflattenableNames(t *testing.T) {
	b, _ := New([]byte("A: 1\n"), Limits{})
	if err := b.SetFile("sub/dir/x.pem", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SecretData(); err == nil || !strings.Contains(err.Error(), "cannot be stored as a Secret key") {
		t.Fatalf("error = %v", err)
	}
	b.RemoveFile("sub/dir/x.pem")
	_ = b.SetFile("extra_ca_certs/a.crt", []byte("1"))
	_ = b.SetFile("extra_ca_cert_a.crt", []byte("2"))
	if _, err := b.SecretData(); err == nil || !strings.Contains(err.Error(), "both flatten") {
		t.Fatalf("error = %v", err)
	}
}
