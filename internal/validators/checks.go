package validators

// probes holds the online proofs of the field groups that have one, keyed by
// group name. Probe files (probe_*.go) fill it from their own init:
//
//	func init() { probes["Database"] = databaseProbes }
//
// allChecks reads it at call time, so the order of package initialisation
// does not matter.
var probes = map[string]func(c *Context) []Probe{}

// allChecks lists the rule set of every field group. Each lives in its own
// file named after the group; network groups set OnlineProof so that online
// mode says honestly when no probe exists yet.
func allChecks() []Check {
	checks := []Check{
		hostSettings,
		databaseCheck(),
		redisCheck(),
		distributedStorage,
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
		actionLogsCheck(),
		logArchiveCheck(),
		modelCacheCheck(),
		registryProtocolCheck(),
		miscCheck(),
		extraCAs,
	}
	for i := range checks {
		if checks[i].Probes == nil {
			checks[i].Probes = probes[checks[i].Group]
		}
	}
	return checks
}
