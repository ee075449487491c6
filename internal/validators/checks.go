package validators

// allChecks lists the rule set of every field group. Each group lives in
// the file named after it, in lower case (Database in database.go,
// DistributedStorage in distributedstorage.go, ElasticSearch in
// elasticsearch.go, ...), which holds its Check literal, its offline rules
// and its probes; a test holds every Check to that. What several groups
// share lives in helper files:
//
//	validators.go   the runner: Validate, the Check and Probe types
//	context.go      what a rule sees (Context), parsed once per validation
//	rules.go        helpers of the offline rules
//	certs.go        PEM certificates and keys, validity, chains
//	dial.go         probes' network: dialing and TLS bound to the probe's deadline, HTTP clients, error words
//	sigv4.go        AWS Signature Version 4 (Elasticsearch on AWS, STS)
//	oauthapp.go     OAuth applications: config blocks and the token-endpoint exchange
//	redisclient.go  the Redis PING of the Redis, BuildManager and ModelCache groups
//	blobstore*.go   the storage round trip (write, read, delete) and its drivers: S3 (and GCS), Azure, Swift, local
//
// Nothing registers itself: the list below is the whole set.
func allChecks() []Check {
	return []Check{
		hostSettingsCheck(),
		databaseCheck(),
		redisCheck(),
		distributedStorageCheck(),
		securityKeysCheck(),
		accessCheck(),
		superusersCheck(),
		ldapCheck(),
		jwtCheck(),
		keystoneCheck(),
		appTokenCheck(),
		oidcCheck(),
		gitHubLoginCheck(),
		googleLoginCheck(),
		securityScannerCheck(),
		repoMirrorCheck(),
		buildManagerCheck(),
		gitHubTriggerCheck(),
		gitLabTriggerCheck(),
		bitbucketTriggerCheck(),
		emailCheck(),
		timeMachineCheck(),
		autoPruneCheck(),
		quotaCheck(),
		proxyCacheCheck(),
		teamSyncCheck(),
		userVisibleCheck(),
		documentationCheck(),
		elasticSearchCheck(),
		logArchiveCheck(),
		modelCacheCheck(),
		registryProtocolCheck(),
		miscCheck(),
		customCertificatesCheck(),
	}
}
