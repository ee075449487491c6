package validators

import "github.com/quay-tools/config-editor/internal/problem"

const groupBuildManager = "BuildManager"

// BuildManager: the builders' orchestrator and executors. Online: PING the
// orchestrator Redis (redisclient.go).
func buildManagerCheck() Check {
	return Check{Group: groupBuildManager, Offline: buildManagerOffline, Probes: buildManagerProbes}
}

// executorRequires lists what an executor kind cannot start without.
func executorRequires(kind string) []string {
	switch kind {
	case "kubernetes", "kubernetesPodman":
		return []string{"BUILDER_NAMESPACE"}
	case "ec2":
		return []string{"EC2_REGION", "COREOS_AMI", "EC2_INSTANCE_TYPE"}
	}
	return nil
}

// buildManagerOffline: BUILD_MANAGER is [name, {ORCHESTRATOR: {REDIS_HOST
// ...}, EXECUTORS: [...]}]; the schema checks the pair, this checks that
// the orchestrator and at least one usable executor are there.
func buildManagerOffline(c *Context, l *problem.List) {
	pair, isList := c.Raw["BUILD_MANAGER"].([]any)
	if c.on("FEATURE_BUILD_SUPPORT") {
		if c.Raw["BUILD_MANAGER"] == nil {
			l.WarnTags(groupBuildManager, at("BUILD_MANAGER"), []string{"FEATURE_BUILD_SUPPORT", "BUILD_MANAGER"},
				"FEATURE_BUILD_SUPPORT is on but BUILD_MANAGER is not set, so no builder will run queued builds; configure BUILD_MANAGER with an orchestrator and executors.")
		}
		if !c.Has("BUILDMAN_HOSTNAME") && pair != nil && !wrongType(c.Raw, "BUILDMAN_HOSTNAME") {
			l.WarnTags(groupBuildManager, at("BUILDMAN_HOSTNAME"), []string{"FEATURE_BUILD_SUPPORT", "BUILDMAN_HOSTNAME"},
				"BUILDMAN_HOSTNAME is not set, so builders connect back to SERVER_HOSTNAME; set it to the host:port on which builders reach the build manager.")
		}
	} else if isList && !wrongType(c.Raw, "FEATURE_BUILD_SUPPORT") {
		c.dependsOn(l, groupBuildManager, "BUILD_MANAGER", "FEATURE_BUILD_SUPPORT")
	}
	if len(pair) != 2 {
		return // shape errors are the schema's
	}
	settings, ok := pair[1].(map[string]any)
	if !ok {
		return
	}
	base := at("BUILD_MANAGER").Index(1)
	if orch, ok := settings["ORCHESTRATOR"].(map[string]any); ok {
		p := base.Child("ORCHESTRATOR")
		requireIn(l, groupBuildManager, orch, p, "REDIS_HOST", "; builds are coordinated through this Redis")
		redisTarget(l, groupBuildManager, p, orch, "REDIS_HOST", "REDIS_PORT", "REDIS_SSL", false)
	} else if settings["ORCHESTRATOR"] == nil {
		l.Errorf(groupBuildManager, base.Child("ORCHESTRATOR"), "BUILD_MANAGER needs an ORCHESTRATOR with REDIS_HOST; builds are coordinated through Redis.")
	}
	execs, isList := settings["EXECUTORS"].([]any)
	if len(execs) == 0 {
		if isList || settings["EXECUTORS"] == nil {
			l.Errorf(groupBuildManager, base.Child("EXECUTORS"), "BUILD_MANAGER needs at least one entry in EXECUTORS (kubernetes, kubernetesPodman or ec2).")
		}
		return
	}
	for i, e := range execs {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		p := base.Child("EXECUTORS").Index(i)
		if !requireIn(l, groupBuildManager, m, p, "EXECUTOR", "; use kubernetes, kubernetesPodman or ec2") {
			continue
		}
		for _, k := range executorRequires(str(m, "EXECUTOR")) {
			requireIn(l, groupBuildManager, m, p, k, " for the "+str(m, "EXECUTOR")+" executor")
		}
		if str(m, "EXECUTOR") == "ec2" && present(m, "AWS_ACCESS_KEY") != present(m, "AWS_SECRET_KEY") && !wrongType(m, "AWS_ACCESS_KEY") && !wrongType(m, "AWS_SECRET_KEY") {
			l.Errorf(groupBuildManager, p, "%s needs both AWS_ACCESS_KEY and AWS_SECRET_KEY, or neither.", p)
		}
	}
}

// buildManagerProbes: the orchestrator Redis of BUILD_MANAGER[1].
func buildManagerProbes(c *Context) []Probe {
	bm := c.List("BUILD_MANAGER")
	if len(bm) < 2 {
		return nil
	}
	settings, _ := bm[1].(map[string]any)
	orch, _ := settings["ORCHESTRATOR"].(map[string]any)
	if orch == nil {
		return nil
	}
	path := at("BUILD_MANAGER").Index(1).Child("ORCHESTRATOR")
	if e, ok := redisFrom(groupBuildManager, path, orch, "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_SSL"); ok {
		return []Probe{e.probe(c)}
	}
	return nil
}
