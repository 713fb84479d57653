// pilot-agent: Istio's own sidecar agent (pilot/cmd/pilot-agent), from the Istio module
// lab/istiod pins, unchanged: under --istio the lab starts the sidecar through it, so the
// bootstrap, the xDS proxy to istiod, SDS certificates, the DNS proxy and the drain on SIGTERM are
// Istio's own code. This file is Istio's main.go for pilot-agent.
package main

import (
	"os"

	meshconfig "istio.io/api/mesh/v1alpha1"
	"istio.io/istio/pilot/cmd/pilot-agent/app"
	istioagent "istio.io/istio/pkg/istio-agent"
	"istio.io/istio/pkg/log"
	"istio.io/istio/pkg/security"
	"istio.io/istio/security/pkg/nodeagent/sds"
)

func main() {
	log.EnableKlogWithCobra()
	rootCmd := app.NewRootCommand(
		func(options *security.Options, workloadSecretCache security.SecretManager, pkpConf *meshconfig.PrivateKeyProvider) istioagent.SDSService {
			return sds.NewServer(options, workloadSecretCache, pkpConf)
		})
	if err := rootCmd.Execute(); err != nil {
		log.Error(err)
		os.Exit(-1)
	}
}
