// istiod-lab: Istio's real xDS config generation for the lab's pod, without Kubernetes. It runs
// istiod's discovery server (the exported harness istio.io/istio/pilot/test/xds, which backs
// istiod's own tests) fed by Istio YAML and a mesh config, and either
//
//   - prints what it would push to the pod's sidecar as an Envoy config_dump (listeners, clusters,
//     routes, endpoints), so the lab can show it as `istioctl proxy-config` does (render), or
//
//   - serves it over ADS (-serve), as istiod does: the lab's Envoy connects, and every change to the
//     -config files is applied to Istio's config store, so istiod pushes it (a `kubectl apply`).
//
//     istiod-lab -config envoy-configs/catch-all-cert/istio/broken.yaml -pod-ip 198.18.0.10 -out dump.json
//     istiod-lab -config lab/istio.yaml -serve 198.18.0.15:15010 -status status.log
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"
	"time"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/mesh"
)

// failer is the harness's test.Failer for a program: a failure is fatal, with its message.
type failer struct{ cleanups []func() }

func (f *failer) Fail()                     { f.FailNow() }
func (f *failer) FailNow()                  { f.run(); os.Exit(1) }
func (f *failer) Fatal(args ...any)         { fmt.Fprintln(os.Stderr, args...); f.FailNow() }
func (f *failer) Fatalf(s string, a ...any) { fmt.Fprintf(os.Stderr, s+"\n", a...); f.FailNow() }
func (f *failer) Log(args ...any)           { fmt.Fprintln(os.Stderr, args...) }
func (f *failer) Logf(s string, a ...any)   { fmt.Fprintf(os.Stderr, s+"\n", a...) }
func (f *failer) TempDir() string           { d, _ := os.MkdirTemp("", "istiod-lab-"); return d }
func (f *failer) Helper()                   {}
func (f *failer) Cleanup(c func())          { f.cleanups = append(f.cleanups, c) }
func (f *failer) Skip(args ...any)          { f.Fatal(append([]any{"skip:"}, args...)...) }
func (f *failer) run() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// readYAML reads Istio YAML files (a directory stands for its *.yaml, sorted) as one
// multi-document string of Istio objects and one of Kubernetes objects.
func readYAML(paths []string) (config string, k8s string) {
	var files []string
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			in, _ := filepath.Glob(filepath.Join(p, "*.yaml"))
			sort.Strings(in)
			files = append(files, in...)
		} else {
			files = append(files, p)
		}
	}
	var cfg, kube []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for _, doc := range strings.Split(string(b), "\n---") {
			// Kubernetes objects (Service, Pod, Node, EndpointSlice) go to the fake cluster; Istio objects to the config store.
			if isKubeObject(doc) {
				kube = append(kube, doc)
			} else if strings.TrimSpace(doc) != "" {
				cfg = append(cfg, doc)
			}
		}
	}
	return strings.Join(cfg, "\n---\n"), strings.Join(kube, "\n---\n")
}

// isKubeObject: a core (v1) or discovery.k8s.io object, which Istio reads from Kubernetes, not from its config store.
func isKubeObject(doc string) bool {
	for _, api := range []string{"v1", "discovery.k8s.io/v1"} {
		line := "apiVersion: " + api + "\n"
		if strings.Contains(doc, "\n"+line) || strings.HasPrefix(strings.TrimSpace(doc), line) {
			return true
		}
	}
	return false
}

func dumpEntry(key string, m proto.Message) map[string]any {
	a, err := anypb.New(m)
	if err != nil {
		panic(err)
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(a) // snake_case, as Envoy's own /config_dump
	if err != nil {
		panic(err)
	}
	var v map[string]any
	_ = yaml.Unmarshal(b, &v)
	return map[string]any{key: v}
}

// labObjects are Istio objects the lab always adds (listed in every run's artifacts): no mTLS
// between sidecars, so the inbound side has no TLS chains waiting for istiod's CA over SDS.
const labObjects = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: lab-no-mtls
  namespace: istio-system
spec:
  mtls:
    mode: DISABLE`

func dump(s *xds.FakeDiscoveryServer, p *model.Proxy) []byte {
	listeners := s.Listeners(p)
	var dl, dc, dr, de []map[string]any
	for _, l := range listeners {
		e := dumpEntry("listener", l)
		dl = append(dl, map[string]any{"name": l.Name, "active_state": e})
	}
	for _, c := range s.Clusters(p) {
		dc = append(dc, dumpEntry("cluster", c))
	}
	for _, r := range s.RoutesFromListeners(p, listeners) {
		dr = append(dr, dumpEntry("route_config", r))
	}
	// EDS: the endpoints Istio would send for each EDS cluster (Envoy's dump lists them the same way).
	for _, e := range s.Endpoints(p) {
		de = append(de, dumpEntry("endpoint_config", e))
	}
	out := map[string]any{"configs": []any{
		map[string]any{"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump", "dynamic_listeners": dl},
		map[string]any{"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump", "dynamic_active_clusters": dc},
		map[string]any{"@type": "type.googleapis.com/envoy.admin.v3.RoutesConfigDump", "dynamic_route_configs": dr},
		map[string]any{"@type": "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump", "dynamic_endpoint_configs": de},
	}}
	b, err := yaml.Marshal(out)
	if err != nil {
		panic(err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		panic(err)
	}
	return j
}

func writeOrPrint(file string, b []byte) {
	if file == "" {
		os.Stdout.Write(b)
	} else if err := os.WriteFile(file, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type key struct{ kind, ns, name string }

func keyOf(c config.Config) key { return key{c.GroupVersionKind.String(), c.Namespace, c.Name} }

// parse reads the Istio objects of the -config files (Kubernetes objects are fixed at start).
func parse(files []string) ([]config.Config, error) {
	cfg, _ := readYAML(files)
	cfgs, _, err := crd.ParseInputs(cfg + "\n---\n" + labObjects)
	for i := range cfgs {
		if cfgs[i].Namespace == "" {
			cfgs[i].Namespace = "default"
		}
	}
	return cfgs, err
}

// apply makes Istio's config store hold `next` (what `kubectl apply` and `kubectl delete` of the
// difference would do); the store's handlers make istiod push, as in a cluster.
func apply(s *xds.FakeDiscoveryServer, prev map[key]config.Config, next []config.Config) (map[key]config.Config, string, error) {
	store := s.Store()
	now := map[key]config.Config{}
	var created, updated, deleted []string
	for _, c := range next {
		k := keyOf(c)
		now[k] = c
		label := c.GroupVersionKind.Kind + "/" + c.Name
		if old, had := prev[k]; had {
			if a, ok := old.Spec.(proto.Message); ok {
				if b, ok := c.Spec.(proto.Message); ok && proto.Equal(a, b) {
					continue // unchanged: no update, no push for it
				}
			}
			c.ResourceVersion = ""
			if _, err := store.Update(c); err != nil {
				return prev, "", fmt.Errorf("update %s: %w", label, err)
			}
			updated = append(updated, label)
		} else {
			if _, err := store.Create(c); err != nil {
				return prev, "", fmt.Errorf("create %s: %w", label, err)
			}
			created = append(created, label)
		}
	}
	for k, c := range prev {
		if _, still := now[k]; !still {
			if err := store.Delete(c.GroupVersionKind, c.Name, c.Namespace, nil); err != nil {
				return prev, "", fmt.Errorf("delete %s/%s: %w", c.GroupVersionKind.Kind, c.Name, err)
			}
			deleted = append(deleted, c.GroupVersionKind.Kind+"/"+c.Name)
		}
	}
	return now, fmt.Sprintf("created %v updated %v deleted %v", created, updated, deleted), nil
}

func stamp(files []string) string {
	var b strings.Builder
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			fmt.Fprintf(&b, "%s:%d:%d;", f, st.ModTime().UnixNano(), st.Size())
		}
	}
	return b.String()
}

func status(file string, line string) {
	if file == "" {
		fmt.Fprintln(os.Stderr, line)
		return
	}
	fh, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Fprintln(fh, line)
	fh.Close()
}

// builtIstio is the istio.io/istio module this program was built from (its go.mod, or the
// version the lab moved it to): the evidence of which Istio generated the config.
func builtIstio() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "istio.io/istio" {
				return d.Version
			}
		}
	}
	return "unknown"
}

func main() {
	configs := flag.String("config", "", "Istio YAML files or directories, comma-separated (ServiceEntry, Sidecar, DestinationRule, VirtualService, EnvoyFilter, …; Kubernetes Services too)")
	meshFiles := flag.String("mesh", "", "mesh config YAML files, comma-separated, applied in order over Istio's defaults with the lab's settings")
	podIP := flag.String("pod-ip", "198.18.0.10", "the sidecar's pod IP")
	app := flag.String("app", "app", "the pod's app label (and name): another pod's sidecar renders as its own workload")
	ns := flag.String("namespace", "default", "the pod's namespace")
	istioVersion := flag.String("proxy-istio-version", "1.28.0", "ISTIO_VERSION the proxy reports (pins version-gated output)")
	outFile := flag.String("out", "", "write the config_dump JSON here (istiod logs to stdout); with -serve, the dump of each generation goes to <out>.<n>")
	serve := flag.String("serve", "", "serve ADS on this address (host:port) until SIGTERM, watching the -config files and pushing every change")
	statusFile := flag.String("status", "", "with -serve: one line per config generation applied ('<n> ...'), so a caller knows when a change reached the store")
	flag.Parse()
	if *configs == "" {
		fmt.Fprintln(os.Stderr, "istiod-lab: -config is required, e.g. -config envoy-configs/catch-all-cert/istio/broken.yaml")
		os.Exit(2)
	}
	// What upstream Envoy needs (measured): no Istio-only filters, no auto-mTLS waiting for SDS.
	// Istio reads its feature flags when its packages initialise, before main: setting them here
	// would be too late (measured: istio.metadata_exchange and istio.alpn stayed), so the program
	// runs itself again with them in its environment.
	if os.Getenv("ISTIOD_LAB_FLAGS_SET") == "" {
		self, err := os.Executable()
		if err != nil {
			panic(err)
		}
		// PILOT_ENABLE_IP_AUTOALLOCATE=false: ServiceEntry addresses for DNS capture are allocated
		// by the ServiceEntry registry itself (Istio's first mechanism, still in the code), since the
		// newer allocator writes them to the ServiceEntry's Kubernetes status, which the lab has not.
		env := append(os.Environ(), "ISTIOD_LAB_FLAGS_SET=1", "PILOT_ENABLE_METADATA_EXCHANGE=false", "PILOT_ENABLE_ALPN_FILTER=false", "PILOT_ENABLE_IP_AUTOALLOCATE=false")
		panic(syscall.Exec(self, os.Args, env))
	}
	m := mesh.DefaultMeshConfig()
	m.EnableAutoMtls.Value = false
	for _, file := range strings.Split(*meshFiles, ",") {
		if file == "" {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if m, err = mesh.ApplyMeshConfig(string(b), m); err != nil {
			fmt.Fprintln(os.Stderr, "mesh config", file+":", err)
			os.Exit(2)
		}
	}
	files := strings.Split(*configs, ",")
	cfgs, err := parse(files)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Istio YAML:", err)
		os.Exit(2)
	}
	_, kube := readYAML(files)
	f := &failer{}
	opts := xds.FakeOptions{Configs: cfgs, KubernetesObjectString: kube, MeshConfig: m}
	if *serve != "" {
		opts.ListenerBuilder = func() (net.Listener, error) { return net.Listen("tcp", *serve) }
	}
	s := xds.NewFakeDiscoveryServer(f, opts)
	p := s.SetupProxy(&model.Proxy{
		ID: *app + "." + *ns,
		// As istiod's initProxy does with a connecting sidecar's node: selectors (PeerAuthentication,
		// Sidecar, EnvoyFilter workloadSelector) match these labels, not the metadata's.
		Labels:          map[string]string{"app": *app},
		IPAddresses:     []string{*podIP},
		ConfigNamespace: *ns,
		Metadata:        &model.NodeMetadata{Namespace: *ns, IstioVersion: *istioVersion, Labels: map[string]string{"app": *app}, InterceptionMode: model.InterceptionRedirect, ClusterID: "Kubernetes"},
	})
	if *serve == "" {
		writeOrPrint(*outFile, dump(s, p))
		f.run()
		os.Exit(0)
	}

	// Serving: the store holds the files' objects; each change to the files is applied to it.
	applied := map[key]config.Config{}
	for _, c := range cfgs {
		applied[keyOf(c)] = c
	}
	if *outFile != "" {
		writeOrPrint(*outFile+".0", dump(s, p))
	}
	status(*statusFile, fmt.Sprintf("0 serving ADS on %s (Istio %s)", s.Listener.Addr(), builtIstio()))
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	seen := stamp(files)
	for gen := 1; ; {
		select {
		case <-stop:
			f.run()
			os.Exit(0)
		case <-time.After(50 * time.Millisecond):
		}
		if now := stamp(files); now != seen {
			seen = now
			next, err := parse(files)
			if err == nil {
				var what string
				if applied, what, err = apply(s, applied, next); err == nil {
					s.EnsureSynced(f)
					if *outFile != "" {
						writeOrPrint(fmt.Sprintf("%s.%d", *outFile, gen), dump(s, p))
					}
					status(*statusFile, fmt.Sprintf("%d applied: %s", gen, what))
					gen++
					continue
				}
			}
			status(*statusFile, fmt.Sprintf("%d rejected: %v", gen, err))
			gen++
		}
	}
}
