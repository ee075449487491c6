package validators

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupStorage = "DistributedStorage"

// StorageLocation is one entry of DISTRIBUTED_STORAGE_CONFIG.
type StorageLocation struct {
	Name   string
	Driver string
	Args   map[string]any
}

// Arg returns a driver argument as a string ("" when absent).
func (s StorageLocation) Arg(name string) string { return AsString(s.Args[name]) }

// StorageLocations returns the well-formed locations in name order;
// malformed entries are the schema check's to report.
func (c *Context) StorageLocations() []StorageLocation {
	cfg := c.Map("DISTRIBUTED_STORAGE_CONFIG")
	var out []StorageLocation
	for _, name := range SortedKeys(cfg) {
		pair, ok := cfg[name].([]any)
		if !ok || len(pair) < 1 {
			continue
		}
		driver, _ := pair[0].(string)
		args := map[string]any{}
		if len(pair) > 1 {
			if m, ok := pair[1].(map[string]any); ok {
				args = m
			}
		}
		out = append(out, StorageLocation{Name: name, Driver: driver, Args: args})
	}
	return out
}

func locationArgPath(loc, arg string) *problem.Path {
	return at("DISTRIBUTED_STORAGE_CONFIG").Key(loc).Index(1).Child(arg)
}

// DistributedStorage: per-driver required arguments, references to
// locations from every key that names one, and the geo-replication rules
// (object storage everywhere, a preference, TLS). Online, every location
// gets the storage round trip (blobstore.go): write, read back and delete
// a test object with its driver.
func distributedStorageCheck() Check {
	return Check{Group: groupStorage, Offline: distributedStorageOffline, Probes: storageProbes}
}

func distributedStorageOffline(c *Context, l *problem.List) {
	locs := c.StorageLocations()
	known := map[string]StorageLocation{}
	for _, loc := range locs {
		known[loc.Name] = loc
		d := c.Cat.Driver(loc.Driver)
		if d == nil {
			continue // unknown driver names are reported by the schema
		}
		for _, req := range d.Required {
			if argMissing(loc.Args, req) {
				l.Errorf(groupStorage, locationArgPath(loc.Name, req),
					"Storage location %q (%s) needs %s.", loc.Name, loc.Driver, req)
			}
		}
		if loc.Driver == "CloudFrontedS3Storage" {
			c.checkCloudFrontKey(l, loc)
		}
		if v, _ := AsInt(loc.Args["auth_version"]); loc.Driver == "SwiftStorage" && v == 3 {
			// storage_validators.go validateSwift refuses Keystone v3
			// without these two strings before it connects (project_id,
			// which Quay's runtime also takes, does not do for it)
			opts, _ := loc.Args["os_options"].(map[string]any)
			for _, k := range []string{"user_domain_name", "tenant_id"} {
				if _, ok := opts[k].(string); !ok {
					l.Errorf(groupStorage, locationArgPath(loc.Name, "os_options").Child(k),
						"Storage location %q (SwiftStorage) uses auth_version 3, for which Quay's start-up validation needs os_options.%s (a string).", loc.Name, k)
				}
			}
		}
		if loc.Driver == "LocalStorage" && len(locs) == 1 && !c.Bool("FEATURE_STORAGE_REPLICATION") {
			l.Warnf(groupStorage, at("DISTRIBUTED_STORAGE_CONFIG").Key(loc.Name),
				"Storage location %q uses LocalStorage, which is meant for tests: the data lives inside one Quay container. Use object storage in production.", loc.Name)
		}
	}
	ref := func(group string, path *problem.Path, key, name string) {
		if name == "" {
			return
		}
		if _, ok := known[name]; !ok {
			l.ErrorTags(group, path, []string{key, "DISTRIBUTED_STORAGE_CONFIG"},
				"%s names storage location %q, which DISTRIBUTED_STORAGE_CONFIG does not define (defined: %s).",
				key, name, names(locs))
		}
	}
	for i, name := range c.Strings("DISTRIBUTED_STORAGE_PREFERENCE") {
		ref(groupStorage, at("DISTRIBUTED_STORAGE_PREFERENCE").Index(i), "DISTRIBUTED_STORAGE_PREFERENCE", name)
	}
	for i, name := range c.Strings("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS") {
		ref(groupStorage, at("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS").Index(i), "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS", name)
	}
	if c.Has("USERFILES_LOCATION") {
		ref(c.Cat.GroupOf("USERFILES_LOCATION"), at("USERFILES_LOCATION"), "USERFILES_LOCATION", c.Str("USERFILES_LOCATION"))
	}
	if c.Has("LOG_ARCHIVE_LOCATION") {
		ref(c.Cat.GroupOf("LOG_ARCHIVE_LOCATION"), at("LOG_ARCHIVE_LOCATION"), "LOG_ARCHIVE_LOCATION", c.Str("LOG_ARCHIVE_LOCATION"))
	}
	if c.Has("ACTION_LOG_ARCHIVE_LOCATION") && c.on("FEATURE_ACTION_LOG_ROTATION") {
		ref(c.Cat.GroupOf("ACTION_LOG_ARCHIVE_LOCATION"), at("ACTION_LOG_ARCHIVE_LOCATION"), "ACTION_LOG_ARCHIVE_LOCATION", c.Str("ACTION_LOG_ARCHIVE_LOCATION"))
	}
	if len(locs) > 1 && len(c.Strings("DISTRIBUTED_STORAGE_PREFERENCE")) == 0 {
		l.Warnf(groupStorage, at("DISTRIBUTED_STORAGE_PREFERENCE"),
			"Several storage locations are defined but DISTRIBUTED_STORAGE_PREFERENCE is empty; list them in the order this cluster should use them.")
	}
	if !c.Bool("FEATURE_STORAGE_REPLICATION") {
		return
	}
	// geo-replication
	if len(c.Strings("DISTRIBUTED_STORAGE_PREFERENCE")) == 0 {
		l.ErrorTags(groupStorage, at("DISTRIBUTED_STORAGE_PREFERENCE"), []string{"FEATURE_STORAGE_REPLICATION", "DISTRIBUTED_STORAGE_PREFERENCE"},
			"FEATURE_STORAGE_REPLICATION is on, so DISTRIBUTED_STORAGE_PREFERENCE must list the locations (each cluster can reorder them with QUAY_DISTRIBUTED_STORAGE_PREFERENCE).")
	}
	for _, loc := range locs {
		if loc.Driver == "LocalStorage" {
			l.ErrorTags(groupStorage, at("DISTRIBUTED_STORAGE_CONFIG").Key(loc.Name).Index(0), []string{"FEATURE_STORAGE_REPLICATION", "DISTRIBUTED_STORAGE_CONFIG"},
				"Storage location %q uses LocalStorage, which cannot be replicated: geo-replication needs object storage that every region can reach.", loc.Name)
		}
	}
	if len(locs) < 2 {
		l.WarnTags(groupStorage, at("FEATURE_STORAGE_REPLICATION"), []string{"FEATURE_STORAGE_REPLICATION"},
			"FEATURE_STORAGE_REPLICATION is on but only one storage location is defined, so there is nothing to replicate to.")
	}
	if len(c.Strings("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS")) == 0 && len(locs) > 1 {
		l.WarnTags(groupStorage, at("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS"), []string{"FEATURE_STORAGE_REPLICATION", "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS"},
			"FEATURE_STORAGE_REPLICATION is on but DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS is empty: new images are not copied anywhere automatically; list the locations every image should reach.")
	}
	if !strings.EqualFold(c.Str("PREFERRED_URL_SCHEME"), "https") {
		l.ErrorTags(groupStorage, at("PREFERRED_URL_SCHEME"), []string{"FEATURE_STORAGE_REPLICATION", "PREFERRED_URL_SCHEME"},
			"Geo-replication requires TLS: set PREFERRED_URL_SCHEME: https.")
	}
}

func names(locs []StorageLocation) string {
	if len(locs) == 0 {
		return "none"
	}
	var n []string
	for _, l := range locs {
		n = append(n, strconv.Quote(l.Name))
	}
	return strings.Join(n, ", ")
}

// checkCloudFrontKey: the signing key file must be in the bundle and be an
// RSA private key.
func (c *Context) checkCloudFrontKey(l *problem.List, loc StorageLocation) {
	ref := loc.Arg("cloudfront_privatekey_filename")
	if ref == "" {
		return // reported as a missing required argument
	}
	data, name, ok := c.BundleFile(ref)
	if !ok {
		l.Errorf(groupStorage, locationArgPath(loc.Name, "cloudfront_privatekey_filename"),
			"Storage location %q refers to CloudFront signing key %q, which is not in the bundle; upload it as %s.", loc.Name, ref, name)
		return
	}
	key, err := ParseKeyPEM(data)
	if err != nil {
		l.Errorf(groupStorage, locationArgPath(loc.Name, "cloudfront_privatekey_filename"),
			"CloudFront signing key %s is not usable: %v.", name, err)
		return
	}
	if _, isRSA := key.Public().(interface{ Size() int }); !isRSA {
		l.Errorf(groupStorage, locationArgPath(loc.Name, "cloudfront_privatekey_filename"),
			"CloudFront signing key %s must be an RSA key.", name)
	}
}

// storageProbes: one probe per location whose driver the catalogue knows
// and whose required arguments are all set.
func storageProbes(c *Context) []Probe {
	var out []Probe
	for _, loc := range c.StorageLocations() {
		d := c.Cat.Driver(loc.Driver)
		if d == nil || missingRequired(loc, d.Required) {
			continue // the schema or the offline rules already said why
		}
		loc := loc
		out = append(out, Probe{
			Name: StorageProbeName(loc.Name),
			Run:  func(ctx context.Context, l *problem.List) { c.probeLocation(ctx, l, loc) },
		})
	}
	return out
}

func missingRequired(loc StorageLocation, required []string) bool {
	for _, r := range required {
		if argMissing(loc.Args, r) {
			return true
		}
	}
	return false
}

// argMissing reports whether a required driver argument is absent, null or
// an empty string (false, 0, mappings and lists are values).
func argMissing(args map[string]any, name string) bool {
	v, ok := args[name]
	if !ok || v == nil {
		return true
	}
	s, isStr := v.(string)
	return isStr && s == ""
}

func (c *Context) probeLocation(ctx context.Context, l *problem.List, loc StorageLocation) {
	what := fmt.Sprintf("Storage location %q (%s)", loc.Name, loc.Driver)
	var (
		st    blobStore
		where string
		err   error
	)
	switch loc.Driver {
	case "LocalStorage":
		c.probeLocal(l, loc)
		return
	case "S3Storage", "CloudFrontedS3Storage", "CloudFlareStorage", "AkamaiS3Storage":
		st, where, err = c.s3Store(ctx, loc.Args, s3Names)
	case "MultiCDNStorage":
		inner, _ := loc.Args["storage_config"].(map[string]any)
		st, where, err = c.s3Store(ctx, inner, s3Names)
	case "RadosGWStorage", "RHOCSStorage", "IBMCloudStorage":
		st, where, err = c.s3Store(ctx, loc.Args, gatewayNames)
	case "GoogleCloudStorage":
		st, where, err = c.s3Store(ctx, loc.Args, gcsNames)
	case "STSS3Storage":
		st, where, err = c.stsStore(ctx, loc)
	case "AzureStorage":
		st, where, err = c.azureStore(ctx, loc)
	case "SwiftStorage":
		st, where, err = c.swiftStore(ctx, loc)
	default:
		l.WarnTags(groupStorage, at("DISTRIBUTED_STORAGE_CONFIG").Key(loc.Name).Index(0), []string{"DISTRIBUTED_STORAGE_CONFIG"},
			"%s: no online check exists for this driver; only the offline rules were applied.", what)
		return
	}
	if err != nil {
		var se *storeSetupError
		if errors.As(err, &se) {
			l.ErrorTags(groupStorage, argPathOrLoc(loc.Name, se.arg), []string{"DISTRIBUTED_STORAGE_CONFIG"}, "%s: %s.", what, se.msg)
			return
		}
		l.ErrorTags(groupStorage, at("DISTRIBUTED_STORAGE_CONFIG").Key(loc.Name), []string{"DISTRIBUTED_STORAGE_CONFIG"},
			"%s: could not set up a client for %s: %s.", what, where, netWords(err))
		return
	}
	runStoreProbe(ctx, l, loc, what, where, probePrefix(loc), st)
}

// StorageProbeName is the name of the online probe of a storage location
// (for Options.Probe).
func StorageProbeName(location string) string { return fmt.Sprintf("storage location %q", location) }
