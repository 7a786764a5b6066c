// Decodes every object of a Kubernetes YAML stream (stdin) into the typed API structs of k8s.io/api at
// the minimum Kubernetes version the base supports, refusing unknown fields and wrong types: a field
// that version does not know fails here, where the newer OpenAPI schemas of the npm models let it pass.
// Custom resources (monitoring.coreos.com) are left to those models' CRD schemas.
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
	"sigs.k8s.io/yaml"
)

func target(apiVersion, kind string) any {
	switch apiVersion + "/" + kind {
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

func main() {
	docs, err := splitDocuments(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	failed, checked, skipped := 0, 0, 0
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
				Name string `json:"name"`
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
	}
	fmt.Printf("checked %d objects against k8s.io/api %s, %d custom resources left to their CRD schemas, %d failed\n",
		checked, apiVersion(), skipped, failed)
	if failed > 0 || checked == 0 {
		os.Exit(1)
	}
}
