package editor

import (
	"testing"

	"github.com/quay-tools/config-editor/internal/bundle"
)

// FuzzReadForValidation: the fast reader of the validate route accepts
// exactly what bundle.ReadJSON accepts and yields the same config values
// and files.
func FuzzReadForValidation(f *testing.F) {
	for _, seed := range []string{
		validBundleJSON,
		`{"config.yaml": {"A": 1, "B": 0.5, "C": "x", "D": [1, {"e": null}], "E": true}}`,
		`{"config.yaml": {"S": "\u00e9\/\"\\\n\t", "N": -0, "F": 1e3, "G": 5.0, "H": 123456789012345678901234567890}}`,
		`{"config.yaml": {"k: v": "a #b", "'q'": "&anchor", "*": "!tag", "": "yes"}}`,
		`{"config.yaml": "A: 1\n", "certs": {"ssl.cert": "Q0VSVA=="}}`,
		`{"config.yaml": {}, "certs": {"../x": "QQ=="}}`,
		`{"config.yaml": {"A": 1, "A": 2}}`,
		`{"config.yaml": {"A": "` + "\x00" + `"}}`,
		`{`, `[]`, `null`, `{"config.yaml": []}`,
		`{"config.yaml": {"A": 1}, "config.yaml": {"A": 2}}`,
		"{\"config.yaml\": {\"A\": \"\xff\"}}",
		`{"config.yaml": {"A": "\ud800"}, "certs": {"a/b": "QQ==", "a": ""}}`,
	} {
		f.Add([]byte(seed))
	}
	srv, err := New(Config{Password: "x"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, fm, ferr := srv.readForValidation(data)
		slow, sm, serr := bundle.ReadJSON(data, srv.limits)
		if (ferr == nil) != (serr == nil) {
			t.Fatalf("fast err %v, ReadJSON err %v", ferr, serr)
		}
		if ferr != nil {
			return
		}
		if !bundle.EqualValues(fast.Config().Value(), slow.Config().Value()) {
			t.Fatalf("values differ:\nfast %#v\nslow %#v", fast.Config().Value(), slow.Config().Value())
		}
		if len(fm) != len(sm) {
			t.Fatalf("managed groups differ: %v %v", fm, sm)
		}
		fn, sn := fast.FileNames(), slow.FileNames()
		if len(fn) != len(sn) {
			t.Fatalf("files differ: %v %v", fn, sn)
		}
		for i := range fn {
			a, _ := fast.File(fn[i])
			b, _ := slow.File(sn[i])
			if fn[i] != sn[i] || string(a) != string(b) {
				t.Fatalf("file %s differs", fn[i])
			}
		}
	})
}
