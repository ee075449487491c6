package kubetest

// QuayConfig is a config.yaml that Quay accepts and that has no problem
// offline. It configures its own database, Redis and storage (so the
// postgres, redis and objectstorage components can be unmanaged), and
// holds the database password dbsecretpw, which must never show in any
// output.
const QuayConfig = `SERVER_HOSTNAME: quay.example.com
PREFERRED_URL_SCHEME: http
DB_URI: postgresql://quay:dbsecretpw@db.example.com:5432/quay
BUILDLOGS_REDIS:
  host: redis.example.com
  port: 6379
USER_EVENTS_REDIS:
  host: redis.example.com
  port: 6379
DISTRIBUTED_STORAGE_CONFIG:
  default:
    - S3Storage
    - s3_bucket: quay
      storage_path: /registry
      s3_access_key: AKIAEXAMPLE
      s3_secret_key: s3secretvalue
DISTRIBUTED_STORAGE_PREFERENCE: [default]
DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: []
AUTHENTICATION_TYPE: Database
DEFAULT_TAG_EXPIRATION: 2w
TAG_EXPIRATION_OPTIONS: [2w]
DATABASE_SECRET_KEY: dbkey-0123456789
SECRET_KEY: sk-0123456789abcdef0123
REGISTRY_TITLE: Before
`
