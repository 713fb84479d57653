/** The environment of every Go build and query the lab runs: the machine's own Go, no cgo, modules from the proxy. */
/** Modules the checksum database has no entry for (measured): fetched from the proxy unverified by sum.golang.org. */
const GONOSUMDB = 'github.com/envoyproxy/go-control-plane/contrib,istio.io/client-go,github.com/agentgateway/agentgateway';
export const GO_ENV = { CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod', GONOSUMDB };
