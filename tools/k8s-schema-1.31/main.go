// Decodes every object of a Kubernetes YAML stream (stdin) into the typed API structs of k8s.io/api at
// the minimum Kubernetes version the base supports, refusing unknown fields and wrong types: a field
// that version does not know fails here, where the newer OpenAPI schemas of the npm models let it pass.
// Custom resources (monitoring.coreos.com) are left to those models' CRD schemas. Each pod template is
// then evaluated by the Pod Security admission library of that version against its Namespace's enforce
// label, when the stream contains that Namespace: what the admission controller would refuse fails here.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"
)

func target(apiVersion, kind string) any {
	switch apiVersion + "/" + kind {
	case "v1/Namespace":
		return &corev1.Namespace{}
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}
	case "v1/Secret":
		return &corev1.Secret{}
	case "v1/Service":
		return &corev1.Service{}
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}
	case "apps/v1/DaemonSet":
		return &appsv1.DaemonSet{}
	case "rbac.authorization.k8s.io/v1/ClusterRole":
		return &rbacv1.ClusterRole{}
	case "rbac.authorization.k8s.io/v1/ClusterRoleBinding":
		return &rbacv1.ClusterRoleBinding{}
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}
	case "networking.k8s.io/v1/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}
	}
	return nil
}

// splitDocuments cuts a YAML stream at lines that are exactly "---".
func splitDocuments(r io.Reader) ([]string, error) {
	var docs []string
	var cur strings.Builder
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for s.Scan() {
		if s.Text() == "---" {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(s.Text())
		cur.WriteByte('\n')
	}
	docs = append(docs, cur.String())
	return docs, s.Err()
}

// apiVersion is the k8s.io/api release this binary was built with (go.mod pins v0.31.x).
func apiVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "k8s.io/api" {
				return dep.Version
			}
		}
	}
	return "(unknown)"
}

// podTemplate is the pod a workload creates, or nil for objects that create none.
func podTemplate(obj any) *corev1.PodTemplateSpec {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template
	case *appsv1.DaemonSet:
		return &o.Spec.Template
	}
	return nil
}

type workload struct {
	kind, name, namespace string
	template              *corev1.PodTemplateSpec
}

// podSecurity evaluates each workload's pod against its Namespace's enforce level and version (a
// Namespace without the label enforces privileged, as the admission controller's default does).
// It returns the number of pod templates evaluated and the number refused.
func podSecurity(namespaces map[string]*corev1.Namespace, workloads []workload) (int, int) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks())
	if err != nil {
		panic(err)
	}
	privileged := psaapi.LevelVersion{Level: psaapi.LevelPrivileged, Version: psaapi.LatestVersion()}
	defaults := psaapi.Policy{Enforce: privileged, Audit: privileged, Warn: privileged}
	evaluated, refused := 0, 0
	for _, w := range workloads {
		ns, ok := namespaces[w.namespace]
		if !ok {
			fmt.Printf("pod security: %s/%s: namespace %q is not in the stream, not evaluated\n", w.kind, w.name, w.namespace)
			continue
		}
		evaluated++
		p, errs := psaapi.PolicyToEvaluate(ns.Labels, defaults)
		if len(errs) > 0 {
			fmt.Printf("pod security: Namespace/%s: %v\n", ns.Name, errs.ToAggregate())
			refused++
			continue
		}
		var reasons []string
		for _, r := range evaluator.EvaluatePod(p.Enforce, &w.template.ObjectMeta, &w.template.Spec) {
			if !r.Allowed {
				reasons = append(reasons, r.ForbiddenReason+" ("+r.ForbiddenDetail+")")
			}
		}
		if len(reasons) > 0 {
			fmt.Printf("pod security: %s/%s in %s: forbidden by %s: %s\n", w.kind, w.name, w.namespace, p.Enforce, strings.Join(reasons, "; "))
			refused++
			continue
		}
		fmt.Printf("pod security: %s/%s in %s: allowed by %s\n", w.kind, w.name, w.namespace, p.Enforce)
	}
	return evaluated, refused
}

func main() {
	docs, err := splitDocuments(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	failed, checked, skipped := 0, 0, 0
	namespaces := map[string]*corev1.Namespace{}
	var workloads []workload
	for i, doc := range docs {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		raw, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			fmt.Printf("document %d: not YAML: %v\n", i, err)
			failed++
			continue
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(raw, &meta); err != nil {
			fmt.Printf("document %d: %v\n", i, err)
			failed++
			continue
		}
		obj := target(meta.APIVersion, meta.Kind)
		if obj == nil {
			if strings.HasSuffix(strings.SplitN(meta.APIVersion, "/", 2)[0], ".coreos.com") {
				skipped++
				continue
			}
			fmt.Printf("%s %s/%s: no type for this kind\n", meta.APIVersion, meta.Kind, meta.Metadata.Name)
			failed++
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(obj); err != nil {
			fmt.Printf("%s/%s: %v\n", meta.Kind, meta.Metadata.Name, err)
			failed++
			continue
		}
		checked++
		if ns, ok := obj.(*corev1.Namespace); ok {
			namespaces[ns.Name] = ns
		}
		if t := podTemplate(obj); t != nil {
			workloads = append(workloads, workload{meta.Kind, meta.Metadata.Name, meta.Metadata.Namespace, t})
		}
	}
	evaluated, refused := podSecurity(namespaces, workloads)
	fmt.Printf("pod security: %d pod templates evaluated against their namespace's enforce level, %d refused\n", evaluated, refused)
	fmt.Printf("checked %d objects against k8s.io/api %s, %d custom resources left to their CRD schemas, %d failed\n",
		checked, apiVersion(), skipped, failed+refused)
	if failed > 0 || refused > 0 || checked == 0 {
		os.Exit(1)
	}
}
