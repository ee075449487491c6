// Package registry is config-editor's registry mode: it reads a Quay config
// bundle into a typed runtime configuration (Translate), and serves the OCI
// Distribution API from an embedded CNCF distribution v3 runtime configured
// from it (New, Server.Run), behind a front door that checks logins (LDAP
// or registry.htpasswd), answers Quay's health endpoints and /metrics, and
// adds what distribution lacks.
//
// Storage: each DISTRIBUTED_STORAGE_CONFIG location is translated to a
// storage driver of this module (S3-compatible drivers to s3driver on
// minio-go, LocalStorage to fsdriver, AzureStorage to azuredriver on the
// Azure SDK's azblob with the account key; none links distribution's
// driver base, its OpenTelemetry exporters, aws-sdk-go or azidentity; each
// opened driver's calls are timed in registry_storage_action_seconds, as
// that base did); a StorageOpener turns the locations into the one driver
// the runtime serves (OpenGeo: every location, see geo.go).
package registry
