package registry

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"

	"github.com/quay-tools/config-editor/internal/problem"
)

// Storage translation and the storage seam.
//
// Every entry of DISTRIBUTED_STORAGE_CONFIG becomes a Location: the
// distribution driver that serves it and that driver's parameters. The
// runtime does not let distribution build its driver from YAML; it opens
// the driver itself through a StorageOpener and hands the instance to
// distribution under the driver name "config-editor". The default opener,
// OpenGeo (geo.go), serves every location through one driver: writes to
// the preferred location, reads falling back to the others; with a single
// location it is OpenPreferred. Everything above the driver (blob store,
// referrers index, health) is unchanged.

const groupStorage = "DistributedStorage"

// Distribution driver names.
const (
	DriverFilesystem = "filesystem"
	DriverS3         = "s3aws"
	DriverAzure      = "azure"
)

// Location is one storage location translated for the runtime.
type Location struct {
	Name       string         // its name in DISTRIBUTED_STORAGE_CONFIG
	QuayDriver string         // e.g. "RadosGWStorage"
	Driver     string         // distribution driver: filesystem, s3aws, azure
	Params     map[string]any // that driver's parameters (holds secrets: never log)
	Notes      []string       // what the translation dropped or assumed, for the start-up log
}

// Describe says where the location's data lives, without secrets.
func (l Location) Describe() string {
	switch l.Driver {
	case DriverFilesystem:
		return fmt.Sprintf("%s (%s: filesystem %s)", l.Name, l.QuayDriver, l.Params["rootdirectory"])
	case DriverS3:
		ep, _ := l.Params["regionendpoint"].(string)
		if ep == "" {
			ep = "AWS region " + fmt.Sprint(l.Params["region"])
		}
		return fmt.Sprintf("%s (%s: s3 bucket %q at %s, path %q)", l.Name, l.QuayDriver, l.Params["bucket"], ep, l.Params["rootdirectory"])
	case DriverAzure:
		return fmt.Sprintf("%s (%s: azure container %q at %s, path %q)", l.Name, l.QuayDriver, l.Params["container"], l.Params["serviceurl"], l.Params["rootdirectory"])
	}
	return l.Name + " (" + l.QuayDriver + ")"
}

// StorageConfig is the storage part of the runtime configuration.
type StorageConfig struct {
	// Locations holds every location that could be translated, in name order.
	Locations []Location
	// Preference is the effective order (QUAY_DISTRIBUTED_STORAGE_PREFERENCE,
	// else DISTRIBUTED_STORAGE_PREFERENCE, else name order); only names of
	// translated locations.
	Preference []string
	// DefaultLocations is DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS.
	DefaultLocations []string
	// Replication is FEATURE_STORAGE_REPLICATION.
	Replication bool
	// QueueDB is DB_URI when it names PostgreSQL: where the replication
	// queue lives.
	QueueDB string
}

// Location returns the translated location of that name.
func (s StorageConfig) Location(name string) (Location, bool) {
	for _, l := range s.Locations {
		if l.Name == name {
			return l, true
		}
	}
	return Location{}, false
}

// Preferred is the location this process writes to and reads from first.
func (s StorageConfig) Preferred() Location {
	if len(s.Preference) > 0 {
		if l, ok := s.Location(s.Preference[0]); ok {
			return l
		}
	}
	if len(s.Locations) > 0 {
		return s.Locations[0]
	}
	return Location{}
}

// StorageOpener opens the storage driver the runtime serves.
type StorageOpener func(ctx context.Context, st StorageConfig) (storagedriver.StorageDriver, error)

// OpenPreferred is the default StorageOpener: the preferred location alone.
func OpenPreferred(ctx context.Context, st StorageConfig) (storagedriver.StorageDriver, error) {
	loc := st.Preferred()
	if loc.Driver == "" {
		return nil, fmt.Errorf("no storage location to serve")
	}
	return OpenLocation(ctx, loc)
}

// OpenLocation opens one location's storage driver, its calls timed in
// registry_storage_action_seconds.
func OpenLocation(ctx context.Context, loc Location) (storagedriver.StorageDriver, error) {
	params := make(map[string]any, len(loc.Params))
	for k, v := range loc.Params {
		params[k] = v
	}
	d, err := openDriver(ctx, loc.Driver, params)
	if err != nil {
		return nil, fmt.Errorf("storage location %q (%s): %w", loc.Name, loc.QuayDriver, err)
	}
	return withStorageMetrics(d), nil
}

// The hand-off of an opened driver to distribution: handlers.NewApp builds
// its driver with factory.Create(config.Storage.Type(), params); the
// runtime's configuration names handoffDriver with an instance number, and
// the factory returns the driver registered under it.
const handoffDriver = "config-editor"

var (
	handoffs   sync.Map // instance string -> storagedriver.StorageDriver
	handoffSeq atomic.Uint64
)

type handoffFactory struct{}

func (handoffFactory) Create(_ context.Context, params map[string]any) (storagedriver.StorageDriver, error) {
	id, _ := params["instance"].(string)
	d, ok := handoffs.LoadAndDelete(id)
	if !ok {
		return nil, fmt.Errorf("storage driver instance %q was not prepared by config-editor", id)
	}
	return d.(storagedriver.StorageDriver), nil
}

func init() { factory.Register(handoffDriver, handoffFactory{}) }

// handOff parks a driver for the next factory.Create of its instance.
func handOff(d storagedriver.StorageDriver) (id string, cancel func()) {
	id = strconv.FormatUint(handoffSeq.Add(1), 10)
	handoffs.Store(id, d)
	return id, func() { handoffs.Delete(id) }
}

// ---------------------------------------------------------------------------
// Translation of Quay's storage drivers.

// Typed arguments of each Quay driver family.
type localArgs struct {
	StoragePath string `arg:"storage_path" validate:"required,startswith=/"`
}

type s3Args struct {
	StoragePath      string `arg:"storage_path" validate:"required"`
	Bucket           string `arg:"s3_bucket" validate:"required"`
	AccessKey        string `arg:"s3_access_key"`
	SecretKey        string `arg:"s3_secret_key"`
	Region           string `arg:"s3_region"`
	Host             string `arg:"host"`
	Port             int    `arg:"port" validate:"omitempty,min=1,max=65535"`
	EndpointURL      string `arg:"endpoint_url" validate:"omitempty,http_url"`
	SignatureVersion string `arg:"signature_version" validate:"omitempty,oneof=v2 v4 s3v2 s3v4 s3"`
}

type cloudFrontArgs struct {
	s3Args
	Domain string `arg:"cloudfront_distribution_domain" validate:"required"`
	KeyID  string `arg:"cloudfront_key_id" validate:"required"`
	Key    string `arg:"cloudfront_privatekey_filename" validate:"required"`
}

type gatewayArgs struct {
	StoragePath      string `arg:"storage_path" validate:"required"`
	Bucket           string `arg:"bucket_name" validate:"required"`
	AccessKey        string `arg:"access_key" validate:"required"`
	SecretKey        string `arg:"secret_key" validate:"required"`
	Hostname         string `arg:"hostname" validate:"required"`
	Port             int    `arg:"port" validate:"omitempty,min=1,max=65535"`
	IsSecure         *bool  `arg:"is_secure" validate:"required"`
	Region           string `arg:"region_name"`
	SignatureVersion string `arg:"signature_version" validate:"omitempty,oneof=v2 v4 s3v2 s3v4 s3"`
}

type gcsArgs struct {
	StoragePath string `arg:"storage_path" validate:"required"`
	Bucket      string `arg:"bucket_name" validate:"required"`
	AccessKey   string `arg:"access_key" validate:"required"`
	SecretKey   string `arg:"secret_key" validate:"required"`
	EndpointURL string `arg:"endpoint_url" validate:"omitempty,http_url"`
}

type azureArgs struct {
	StoragePath string `arg:"storage_path" validate:"required"`
	Container   string `arg:"azure_container" validate:"required"`
	AccountName string `arg:"azure_account_name" validate:"required"`
	AccountKey  string `arg:"azure_account_key"`
	SASToken    string `arg:"sas_token"`
	EndpointURL string `arg:"endpoint_url" validate:"omitempty,http_url"`
}

type multiCDNArgs struct {
	StorageConfig map[string]any `arg:"storage_config" validate:"required"`
}

// gcsEndpoint is Google's S3-compatible XML API, where HMAC keys work.
const gcsEndpoint = "https://storage.googleapis.com"

// defaultS3Region is used where Quay leaves the region to the SDK.
const defaultS3Region = "us-east-1"

// translateLocation maps one [driver, args] pair. Problems are reported at
// the argument's path.
func translateLocation(name string, entry any, l *problem.List) (Location, bool) {
	locPath := problem.NewPath("DISTRIBUTED_STORAGE_CONFIG").Key(name)
	pair, ok := entry.([]any)
	if !ok || len(pair) < 1 {
		l.Errorf(groupStorage, locPath, "storage location %q must be a [DriverName, {arguments}] pair.", name)
		return Location{}, false
	}
	driver, _ := pair[0].(string)
	args := map[string]any{}
	if len(pair) > 1 && pair[1] != nil {
		m, ok := pair[1].(map[string]any)
		if !ok {
			l.Errorf(groupStorage, locPath.Index(1), "the arguments of storage location %q must be a mapping.", name)
			return Location{}, false
		}
		args = m
	}
	loc := Location{Name: name, QuayDriver: driver}
	argPath := func(arg string) *problem.Path {
		if arg == "" {
			return locPath.Index(1)
		}
		return locPath.Index(1).Child(arg)
	}
	report := func(errs []argError) bool {
		for _, e := range errs {
			l.ErrorTags(groupStorage, argPath(e.Arg), []string{"DISTRIBUTED_STORAGE_CONFIG"},
				"storage location %q (%s): %s.", name, driver, e.Msg)
		}
		return len(errs) == 0
	}
	unsupported := func(why string) (Location, bool) {
		l.ErrorTags(groupStorage, locPath.Index(0), []string{"DISTRIBUTED_STORAGE_CONFIG"},
			"storage location %q uses %s, which the embedded registry runtime cannot serve: %s.", name, driver, why)
		return Location{}, false
	}
	// s3 reports decoding errors, then the key pair, then the endpoint, of
	// S3 arguments, and on success points loc at the S3 driver.
	s3 := func(a s3Args, decodeErrs []argError) bool {
		if !report(decodeErrs) || !report(a.pairCheck()) {
			return false
		}
		p, errs := a.params()
		if !report(errs) {
			return false
		}
		loc.Driver, loc.Params = DriverS3, p
		return true
	}
	switch driver {
	case "LocalStorage":
		var a localArgs
		if !report(decodeArgs(args, &a)) {
			return Location{}, false
		}
		loc.Driver = DriverFilesystem
		loc.Params = map[string]any{"rootdirectory": strings.TrimRight(a.StoragePath, "/")}
		if loc.Params["rootdirectory"] == "" {
			loc.Params["rootdirectory"] = "/"
		}
	case "S3Storage", "CloudFlareStorage", "AkamaiS3Storage":
		var a s3Args
		errs := decodeArgs(args, &a)
		if !s3(a, errs) {
			return Location{}, false
		}
		if driver != "S3Storage" {
			loc.Notes = append(loc.Notes, fmt.Sprintf("%s: the CDN in front of the bucket is not used; blobs are served from S3 directly", driver))
		}
	case "CloudFrontedS3Storage":
		var a cloudFrontArgs
		errs := decodeArgs(args, &a)
		if !s3(a.s3Args, errs) {
			return Location{}, false
		}
		loc.Notes = append(loc.Notes, "CloudFrontedS3Storage: blobs are served from S3 directly, not through CloudFront "+a.Domain)
	case "MultiCDNStorage":
		var m multiCDNArgs
		if !report(decodeArgs(args, &m)) {
			return Location{}, false
		}
		var a s3Args
		errs := decodeArgs(m.StorageConfig, &a)
		for i := range errs {
			errs[i].Arg = "storage_config." + errs[i].Arg
		}
		if !s3(a, errs) {
			return Location{}, false
		}
		loc.Notes = append(loc.Notes, "MultiCDNStorage: the CDN providers are not used; blobs are served from S3 directly")
	case "RadosGWStorage", "RHOCSStorage", "IBMCloudStorage":
		var a gatewayArgs
		if !report(decodeArgs(args, &a)) {
			return Location{}, false
		}
		p, errs := a.params()
		if !report(errs) {
			return Location{}, false
		}
		loc.Driver, loc.Params = DriverS3, p
	case "GoogleCloudStorage":
		var a gcsArgs
		if !report(decodeArgs(args, &a)) {
			return Location{}, false
		}
		ep := a.EndpointURL
		if ep == "" {
			ep = gcsEndpoint
		}
		host, secure, err := endpointOf(ep)
		if err != nil {
			return Location{}, report([]argError{{"endpoint_url", err.Error()}})
		}
		loc.Driver = DriverS3
		loc.Params = s3Params(a.Bucket, a.AccessKey, a.SecretKey, defaultS3Region, host, secure, true, true, a.StoragePath)
	case "AzureStorage":
		var a azureArgs
		if !report(decodeArgs(args, &a)) {
			return Location{}, false
		}
		if a.AccountKey == "" {
			if a.SASToken != "" {
				return unsupported("its Azure driver authenticates with azure_account_key only, not with sas_token")
			}
			return Location{}, report([]argError{{"azure_account_key", "azure_account_key is required by the registry runtime"}})
		}
		svc := a.EndpointURL
		if svc == "" {
			svc = "https://" + a.AccountName + ".blob.core.windows.net"
		}
		loc.Driver = DriverAzure
		loc.Params = map[string]any{
			"accountname":   a.AccountName,
			"accountkey":    a.AccountKey,
			"container":     a.Container,
			"serviceurl":    strings.TrimRight(svc, "/"),
			"rootdirectory": strings.Trim(a.StoragePath, "/"),
		}
		if a.SASToken != "" {
			loc.Notes = append(loc.Notes, "AzureStorage: sas_token is ignored; the runtime uses azure_account_key")
		}
	case "SwiftStorage":
		return unsupported("distribution v3 has no Swift driver; use S3-compatible object storage (Swift's S3 API) for registry mode")
	case "STSS3Storage":
		return unsupported("its S3 driver cannot assume an STS role; use S3Storage with keys")
	case "":
		l.ErrorTags(groupStorage, locPath.Index(0), []string{"DISTRIBUTED_STORAGE_CONFIG"}, "storage location %q names no driver.", name)
		return Location{}, false
	default:
		return unsupported("unknown driver")
	}
	return loc, true
}

func (a s3Args) pairCheck() []argError {
	switch {
	case a.AccessKey != "" && a.SecretKey == "":
		return []argError{{"s3_secret_key", "s3_secret_key is required when s3_access_key is set"}}
	case a.AccessKey == "" && a.SecretKey != "":
		return []argError{{"s3_access_key", "s3_access_key is required when s3_secret_key is set"}}
	}
	return nil
}

// params follows Quay's S3Storage: endpoint_url, else host[:port] (https
// unless written http://), else AWS itself.
func (a s3Args) params() (map[string]any, []argError) {
	region := a.Region
	if region == "" {
		region = defaultS3Region
	}
	v4 := !isSigV2(a.SignatureVersion)
	switch {
	case a.EndpointURL != "":
		host, secure, err := endpointOf(a.EndpointURL)
		if err != nil {
			return nil, []argError{{"endpoint_url", err.Error()}}
		}
		return s3Params(a.Bucket, a.AccessKey, a.SecretKey, region, withPort(host, a.Port), secure, true, v4, a.StoragePath), nil
	case a.Host != "":
		host, secure := a.Host, true
		if strings.Contains(host, "://") {
			h, sec, err := endpointOf(host)
			if err != nil {
				return nil, []argError{{"host", err.Error()}}
			}
			host, secure = h, sec
		}
		return s3Params(a.Bucket, a.AccessKey, a.SecretKey, region, withPort(host, a.Port), secure, true, v4, a.StoragePath), nil
	}
	p := s3Params(a.Bucket, a.AccessKey, a.SecretKey, region, "", true, false, v4, a.StoragePath)
	return p, nil
}

// params: RadosGW, NooBaa and IBM COS speak S3 at hostname[:port], https
// exactly when is_secure.
func (a gatewayArgs) params() (map[string]any, []argError) {
	host := a.Hostname
	if strings.Contains(host, "://") {
		h, _, err := endpointOf(host)
		if err != nil {
			return nil, []argError{{"hostname", err.Error()}}
		}
		host = h
	}
	region := a.Region
	if region == "" {
		region = defaultS3Region
	}
	return s3Params(a.Bucket, a.AccessKey, a.SecretKey, region, withPort(host, a.Port), *a.IsSecure, true, !isSigV2(a.SignatureVersion), a.StoragePath), nil
}

func isSigV2(v string) bool {
	switch strings.ToLower(v) {
	case "v2", "s3v2", "s3":
		return true
	}
	return false
}

// endpointOf reads an http(s) URL into host[:port] and whether it is https.
func endpointOf(raw string) (string, bool, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", false, fmt.Errorf("%q is not an http(s) URL", raw)
	}
	return u.Host, u.Scheme == "https", nil
}

func withPort(host string, port int) string {
	if port == 0 {
		return host
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))
}

// s3Params builds the s3aws driver's parameters. endpoint "" means AWS.
func s3Params(bucket, access, secret, region, endpoint string, secure, pathStyle, v4 bool, storagePath string) map[string]any {
	p := map[string]any{
		"bucket":        bucket,
		"region":        region,
		"secure":        secure,
		"v4auth":        v4,
		"rootdirectory": strings.TrimRight(storagePath, "/"),
	}
	if access != "" {
		p["accesskey"] = access
		p["secretkey"] = secret
	}
	if endpoint != "" {
		scheme := "https"
		if !secure {
			scheme = "http"
		}
		p["regionendpoint"] = scheme + "://" + endpoint
		p["forcepathstyle"] = pathStyle
	}
	return p
}

// translateStorage reads DISTRIBUTED_STORAGE_CONFIG and the keys that
// order its locations.
func translateStorage(cfg map[string]any, envPreference string, l *problem.List) StorageConfig {
	var st StorageConfig
	locs, _ := cfg["DISTRIBUTED_STORAGE_CONFIG"].(map[string]any)
	if len(locs) == 0 {
		l.Errorf(groupStorage, problem.NewPath("DISTRIBUTED_STORAGE_CONFIG"), "DISTRIBUTED_STORAGE_CONFIG must define at least one storage location for the registry to store images in.")
		return st
	}
	names := make([]string, 0, len(locs))
	for n := range locs {
		names = append(names, n)
	}
	sort.Strings(names)
	pref := strings.Fields(envPreference)
	prefKey := "QUAY_DISTRIBUTED_STORAGE_PREFERENCE"
	if len(pref) == 0 {
		pref = stringList(cfg["DISTRIBUTED_STORAGE_PREFERENCE"])
		prefKey = "DISTRIBUTED_STORAGE_PREFERENCE"
	}
	// Translate the locations; with several, a location this process does
	// not serve yet (only the preferred one is) only warns.
	var candidate []Location
	var bad problem.List
	for _, n := range names {
		if loc, ok := translateLocation(n, locs[n], &bad); ok {
			candidate = append(candidate, loc)
		}
	}
	for _, n := range pref {
		if _, ok := locs[n]; !ok {
			path := problem.NewPath(prefKey)
			if prefKey == "QUAY_DISTRIBUTED_STORAGE_PREFERENCE" {
				path = problem.NewPath("DISTRIBUTED_STORAGE_CONFIG")
			}
			l.ErrorTags(groupStorage, path, []string{prefKey, "DISTRIBUTED_STORAGE_CONFIG"},
				"%s names storage location %q, which DISTRIBUTED_STORAGE_CONFIG does not define.", prefKey, n)
		}
	}
	preferred := ""
	if len(pref) > 0 {
		preferred = pref[0]
	} else {
		preferred = names[0]
		if len(names) > 1 {
			l.Warnf(groupStorage, problem.NewPath("DISTRIBUTED_STORAGE_PREFERENCE"),
				"several storage locations and no DISTRIBUTED_STORAGE_PREFERENCE: the registry serves %q, the first by name.", preferred)
		}
	}
	for _, p := range bad {
		if p.Severity == problem.Error && !p.Path.Within(problem.NewPath("DISTRIBUTED_STORAGE_CONFIG").Key(preferred)) {
			// not the location this process serves
			p.Severity = problem.Warning
			p.Message += " This location is not served by this registry process (it serves " + strconv.Quote(preferred) + ")."
		}
		*l = append(*l, p)
	}
	st.Locations = candidate
	seen := map[string]bool{}
	for _, n := range append(append([]string{}, pref...), names...) {
		if _, ok := st.Location(n); ok && !seen[n] {
			seen[n] = true
			st.Preference = append(st.Preference, n)
		}
	}
	st.DefaultLocations = stringList(cfg["DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS"])
	st.Replication, _ = cfg["FEATURE_STORAGE_REPLICATION"].(bool)
	st.QueueDB = postgresURI(cfg)
	if st.Replication && len(candidate) > 1 && st.QueueDB == "" {
		l.ErrorTags(groupStorage, problem.NewPath("DB_URI"), []string{"FEATURE_STORAGE_REPLICATION", "DB_URI"},
			"FEATURE_STORAGE_REPLICATION needs DB_URI to name a PostgreSQL database: the registry runtime keeps its replication queue there.")
	}
	if _, ok := st.Location(preferred); !ok {
		// the error was reported above; make sure nothing else is served
		st.Preference = nil
		st.Locations = nil
	}
	return st
}

// postgresURI is DB_URI in the form pgx reads (Quay's postgresql+driver
// schemes become postgresql, DB_CONNECTION_ARGS.sslmode joins the query),
// or "" when DB_URI is not PostgreSQL.
func postgresURI(cfg map[string]any) string {
	raw, _ := cfg["DB_URI"].(string)
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return ""
	}
	scheme, _, _ := strings.Cut(u.Scheme, "+")
	if scheme != "postgresql" && scheme != "postgres" {
		return ""
	}
	u.Scheme = "postgresql"
	if args, ok := cfg["DB_CONNECTION_ARGS"].(map[string]any); ok {
		if mode, ok := args["sslmode"].(string); ok && mode != "" {
			q := u.Query()
			q.Set("sslmode", mode)
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

func stringList(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, e := range l {
		if s, ok := e.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// under reports whether path is base or below it.
