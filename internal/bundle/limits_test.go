package bundle

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBudgetCountsToTheLimitInclusive(t *testing.T) {
	b := budget{lim: Limits{MaxFiles: 2, MaxFileBytes: 10, MaxTotalBytes: 15}}
	for i := range 2 {
		if !b.entry() {
			t.Fatalf("entry %d of MaxFiles 2 does not fit", i+1)
		}
	}
	if b.entry() {
		t.Error("entry MaxFiles+1 must not fit")
	}
	if !b.fileFits(10) || b.fileFits(11) {
		t.Error("a file fits up to MaxFileBytes inclusive")
	}
	if !b.add(10) || !b.add(5) {
		t.Fatal("bytes fit up to MaxTotalBytes inclusive")
	}
	if b.add(1) {
		t.Error("one byte past MaxTotalBytes must not fit")
	}
}

// Every form takes a file of exactly MaxFileBytes and refuses one byte more
// with the same figures in the message.
func TestEveryFormAppliesMaxFileBytes(t *testing.T) {
	const max = 100
	lim := Limits{MaxFileBytes: max}
	cfg := "SERVER_HOSTNAME: quay.example.com\n"
	readers := map[string]func(t *testing.T, data []byte) error{
		"directory": func(t *testing.T, data []byte) error {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "f"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadDir(dir, lim)
			return err
		},
		"tarball": func(t *testing.T, data []byte) error {
			tgz := makeTar(t, true, tarEntry{name: ConfigFile, body: cfg}, tarEntry{name: "f", body: string(data)})
			_, err := ReadTarGz(bytes.NewReader(tgz), lim)
			return err
		},
		"JSON": func(t *testing.T, data []byte) error {
			js, err := json.Marshal(map[string]any{"config.yaml": map[string]any{"SERVER_HOSTNAME": "quay.example.com"},
				"certs": map[string]string{"f": base64.StdEncoding.EncodeToString(data)}})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = ReadJSON(js, lim)
			return err
		},
		"Secret": func(t *testing.T, data []byte) error {
			_, err := FromSecretData(map[string][]byte{ConfigFile: []byte(cfg), "f": data}, lim)
			return err
		},
	}
	for name, read := range readers {
		t.Run(name, func(t *testing.T) {
			if err := read(t, bytes.Repeat([]byte("x"), max)); err != nil {
				t.Errorf("a file of exactly %d bytes: %v", max, err)
			}
			err := read(t, bytes.Repeat([]byte("x"), max+1))
			if err == nil || !strings.Contains(err.Error(), "101 bytes, over the limit of 100") {
				t.Errorf("a file of %d bytes: err = %v, want it refused with both figures", max+1, err)
			}
		})
	}
}
