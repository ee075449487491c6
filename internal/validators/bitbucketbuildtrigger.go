package validators

import (
	"context"

	"github.com/quay-tools/config-editor/internal/problem"
)

const groupBitbucket = "BitbucketBuildTrigger"

// BitbucketBuildTrigger: build triggers from Bitbucket through an OAuth
// consumer, under FEATURE_BITBUCKET_BUILD. The probe exchanges a made-up
// code at Bitbucket's token endpoint with the consumer in basic auth
// (oauthapp.go).
func bitbucketTriggerCheck() Check {
	return Check{Group: groupBitbucket, Offline: bitbucketTriggerOffline, Probes: bitbucketProbes}
}

func bitbucketTriggerOffline(c *Context, l *problem.List) {
	if !c.on("FEATURE_BUILD_SUPPORT") {
		// Quay validates and uses triggers only while builds are on
	} else if m, ok := c.oauthConfig(l, groupBitbucket, "FEATURE_BITBUCKET_BUILD", "BITBUCKET_TRIGGER_CONFIG"); ok {
		requireIn(l, groupBitbucket, m, at("BITBUCKET_TRIGGER_CONFIG"), "CONSUMER_KEY", " when FEATURE_BITBUCKET_BUILD is on")
		requireIn(l, groupBitbucket, m, at("BITBUCKET_TRIGGER_CONFIG"), "CONSUMER_SECRET", " when FEATURE_BITBUCKET_BUILD is on")
	}
	c.triggerNeedsBuilds(l, groupBitbucket, "FEATURE_BITBUCKET_BUILD")
}

func bitbucketProbes(c *Context) []Probe {
	m, ok := c.oauthBlock("FEATURE_BITBUCKET_BUILD", "BITBUCKET_TRIGGER_CONFIG", "CONSUMER_KEY", "CONSUMER_SECRET")
	if !ok || !c.on("FEATURE_BUILD_SUPPORT") {
		return nil
	}
	t := oauthTry{group: groupBitbucket, key: "BITBUCKET_TRIGGER_CONFIG", service: "Bitbucket",
		tokenURL: c.Opts.Hosted.BitbucketToken, clientID: AsString(m["CONSUMER_KEY"]), Secret: secretIn(m, "CONSUMER_SECRET"),
		idField: "CONSUMER_KEY", secretField: "CONSUMER_SECRET", basic: true,
		okErrors: []string{"invalid_grant"}, badClient: []string{"invalid_client", "unauthorized_client"}}
	return []Probe{{Name: "BITBUCKET_TRIGGER_CONFIG", Run: func(ctx context.Context, l *problem.List) { c.tryToken(ctx, l, t) }}}
}
