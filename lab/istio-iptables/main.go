// istio-iptables: Istio's own interception code (tools/istio-iptables, what istio-init and
// istio-cni run), from the Istio module lab/istiod pins, as one small binary: the lab runs it in
// a pod's network namespace with the flags the scenario asks for.
package main

import (
	"os"

	"istio.io/istio/pkg/log"
	"istio.io/istio/tools/istio-iptables/pkg/cmd"
)

func main() {
	if err := cmd.GetCommand(log.DefaultOptions()).Execute(); err != nil {
		os.Exit(1)
	}
}
