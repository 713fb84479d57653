// istiod-lab: Istio's real xDS config generation for the lab's pod, without Kubernetes. It runs
// istiod's discovery server (the exported harness istio.io/istio/pilot/test/xds, which backs
// istiod's own tests) fed by a directory of Istio YAML and a mesh config, and prints what it would
// push to the pod's sidecar as an Envoy config_dump (listeners, clusters, routes), so the lab can
// show it as `istioctl proxy-config` does and run it (npm run lab -- istio render <dir>).
//
//	istiod-lab -config envoy-configs/catch-all-cert/istio/broken.yaml -pod-ip 198.18.0.10
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"

	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"
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
			// Kubernetes objects (Service, Pod, Endpoints) go to the fake cluster; Istio objects to the config store.
			if strings.Contains(doc, "apiVersion: v1\n") || strings.Contains(doc, "\napiVersion: v1\n") || strings.HasPrefix(strings.TrimSpace(doc), "apiVersion: v1\n") {
				kube = append(kube, doc)
			} else if strings.TrimSpace(doc) != "" {
				cfg = append(cfg, doc)
			}
		}
	}
	return strings.Join(cfg, "\n---\n"), strings.Join(kube, "\n---\n")
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

func main() {
	configs := flag.String("config", "", "Istio YAML files or directories, comma-separated (ServiceEntry, Sidecar, DestinationRule, VirtualService, EnvoyFilter, …; Kubernetes Services too)")
	meshFile := flag.String("mesh", "", "mesh config YAML (default: Istio's defaults with the lab's settings)")
	podIP := flag.String("pod-ip", "198.18.0.10", "the sidecar's pod IP")
	ns := flag.String("namespace", "default", "the pod's namespace")
	istioVersion := flag.String("proxy-istio-version", "1.28.0", "ISTIO_VERSION the proxy reports (pins version-gated output)")
	outFile := flag.String("out", "", "write the config_dump JSON here (istiod logs to stdout)")
	flag.Parse()
	if *configs == "" {
		fmt.Fprintln(os.Stderr, "istiod-lab: -config is required, e.g. -config envoy-configs/catch-all-cert/istio/broken.yaml")
		os.Exit(2)
	}
	// What upstream Envoy needs (measured): no Istio-only filters, no auto-mTLS waiting for SDS.
	os.Setenv("PILOT_ENABLE_METADATA_EXCHANGE", "false")
	os.Setenv("PILOT_ENABLE_ALPN_FILTER", "false")
	m := mesh.DefaultMeshConfig()
	m.EnableAutoMtls.Value = false
	if *meshFile != "" {
		b, err := os.ReadFile(*meshFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if m, err = mesh.ApplyMeshConfig(string(b), m); err != nil {
			fmt.Fprintln(os.Stderr, "mesh config:", err)
			os.Exit(2)
		}
	}
	cfg, kube := readYAML(strings.Split(*configs, ","))
	f := &failer{}
	s := xds.NewFakeDiscoveryServer(f, xds.FakeOptions{ConfigString: cfg, KubernetesObjectString: kube, MeshConfig: m})
	p := s.SetupProxy(&model.Proxy{
		ID:              "app." + *ns,
		IPAddresses:     []string{*podIP},
		ConfigNamespace: *ns,
		Metadata:        &model.NodeMetadata{Namespace: *ns, IstioVersion: *istioVersion, Labels: map[string]string{"app": "app"}, InterceptionMode: model.InterceptionRedirect, ClusterID: "Kubernetes"},
	})
	listeners := s.Listeners(p)
	var dl, dc, dr []map[string]any
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
	out := map[string]any{"configs": []any{
		map[string]any{"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump", "dynamic_listeners": dl},
		map[string]any{"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump", "dynamic_active_clusters": dc},
		map[string]any{"@type": "type.googleapis.com/envoy.admin.v3.RoutesConfigDump", "dynamic_route_configs": dr},
	}}
	b, err := yaml.Marshal(out)
	if err != nil {
		panic(err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		panic(err)
	}
	if *outFile == "" {
		os.Stdout.Write(j)
	} else if err := os.WriteFile(*outFile, j, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f.run()
	os.Exit(0)
}
