package storagepath

import (
	"errors"
	"testing"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
)

func TestCheck(t *testing.T) {
	for _, p := range []string{"/a", "/a/b-c_d.e", "/docker/registry/v2/blobs/sha256/ab/abcd/data"} {
		if err := Check("x", p, false); err != nil {
			t.Errorf("%q refused: %v", p, err)
		}
	}
	for _, p := range []string{"", "a", "/a/", "//a", "/a//b", "/..", "/../x", "/a/../../x", "/a/./b", "/a b", "/"} {
		err := Check("x", p, false)
		var ip storagedriver.InvalidPathError
		if !errors.As(err, &ip) || ip.Path != p || ip.DriverName != "x" {
			t.Errorf("%q: %v, want InvalidPathError naming the path and driver x", p, err)
		}
	}
	if err := Check("x", "/", true); err != nil {
		t.Errorf("root refused where allowed: %v", err)
	}
}

func TestKeys(t *testing.T) {
	for _, c := range []struct{ root, p, key, dir string }{
		{"", "/a/b", "a/b", "a/b/"},
		{"", "/", "", ""},
		{"/x/y/", "/a/b", "x/y/a/b", "x/y/a/b/"},
		{"x/y", "/", "x/y/", "x/y/"},
	} {
		k := NewKeys(c.root)
		if got := k.Key(c.p); got != c.key {
			t.Errorf("root %q: Key(%q) = %q, want %q", c.root, c.p, got, c.key)
		}
		if got := k.Dir(c.p); got != c.dir {
			t.Errorf("root %q: Dir(%q) = %q, want %q", c.root, c.p, got, c.dir)
		}
		if c.p != "/" {
			if got := k.Path(k.Key(c.p)); got != c.p {
				t.Errorf("root %q: Path(Key(%q)) = %q", c.root, c.p, got)
			}
		}
	}
}
