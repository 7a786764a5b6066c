// Who the workload is: its name, labels and image, shared by every object the generator writes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_NAME } from '../../observability/dashboards/common.ts';

/**
 * The service's name: OTel `service.name`, the Prometheus `job` (a ServiceMonitor's job label is the
 * Service's name) and the prefix of every object. It lives in observability/dashboards/common.ts, so
 * dashboards, rules' `job="..."` matchers and manifests change together (`npm run rename`).
 */
export const NAME = SERVICE_NAME;

/** Selects the pods: never change it on a live Deployment (its selector is immutable). */
export const SELECTOR_LABELS = { 'app.kubernetes.io/name': NAME } as const;

export const LABELS = {
  ...SELECTOR_LABELS,
  'app.kubernetes.io/component': 'api',
  'app.kubernetes.io/managed-by': 'kustomize',
} as const;

const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as {
  version: string;
};

/**
 * The image the Dockerfile builds, pushed to your registry (a placeholder: override it in an overlay
 * with kustomize `images:`). Tagged with the package version, which the service reports too.
 */
export const IMAGE = `registry.example.com/${NAME}:${pkg.version}`;

/** The image's `USER node`: uid and gid 1000 in the node:26-slim base image. */
export const IMAGE_UID = 1000;

/**
 * The API's namespace, created by the base with Pod Security `restricted` enforced (namespaces.ts). Named
 * in every object, so nothing lands in whatever namespace the kubeconfig points at; an overlay's
 * `namespace:` still moves it.
 */
export const NAMESPACE = NAME;

/** Metadata for one of the API's namespaced objects. */
export function meta(suffix?: string, extraLabels: Record<string, string> = {}) {
  return {
    name: suffix ? `${NAME}-${suffix}` : NAME,
    namespace: NAMESPACE,
    labels: { ...LABELS, ...extraLabels },
  };
}
