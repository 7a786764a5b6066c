// Who hears about an alert in Kubernetes: the compose stack's Alertmanager routing
// (alertmanager/alertmanager.yml) as a prometheus-operator AlertmanagerConfig, and the base URLs the
// alerts' runbook and dashboard links are built on.
// @see https://prometheus-operator.dev/docs/developer/alerting/
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AlertmanagerConfig,
  type IAlertmanagerConfig,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1';
import { parse } from 'yaml';
import { SECRET_NAME } from './environment.ts';
import { meta, NAME } from './identity.ts';

const ROOT = join(import.meta.dirname, '..', '..');
export const ALERTMANAGER_FILE = join(ROOT, 'alertmanager', 'alertmanager.yml');

/**
 * The bases of every alert's runbook_url and dashboard_url, as compose's external labels of the same
 * names. Set your hosts here, then `npm run k8s`: the PrometheusRule carries the finished URLs, so they
 * hold whatever external labels the cluster's Prometheus sets.
 */
export const LINK_BASES: Readonly<Record<string, string>> = {
  grafana_url: 'https://grafana.example.com',
  runbooks_url: `https://github.com/your-org/${NAME}/blob/main/docs/runbooks`,
};

/** A rule annotation with `{{ $externalLabels.<name> }}` replaced by LINK_BASES; unknown names throw. */
export function withLinkBases(annotation: string): string {
  return annotation.replace(/\{\{ \$externalLabels\.(\w+) \}\}/g, (_all, name: string) => {
    const base = LINK_BASES[name];
    if (base === undefined)
      throw new Error(`an alert annotation uses external label ${name}, which LINK_BASES lacks`);
    return base;
  });
}

/** The Secret key holding the webhook URL (the Deployment's Secret; compose reads the same name from its environment). */
export const WEBHOOK_URL_KEY = 'ALERTMANAGER_WEBHOOK_URL';

type Spec = NonNullable<IAlertmanagerConfig['spec']>;
type Route = NonNullable<Spec['route']>;
type Matcher = NonNullable<Route['matchers']>[number];

// Alertmanager's config is plain YAML; the fields read below are the ones alertmanager.yml uses.
interface AmRoute {
  receiver?: string;
  group_by?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  matchers?: string[];
  routes?: AmRoute[];
}
interface AmConfig {
  route: AmRoute;
  inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal: string[] }[];
  receivers: { name: string; webhook_configs?: { send_resolved?: boolean }[] }[];
}

/** `name="value"`, `name=~"regex"`, ... (Alertmanager's matcher syntax) as the CRD's matcher object. */
export function matcher(text: string): Matcher {
  const m = /^(\w+)(=~|!~|!=|=)"(.*)"$/.exec(text);
  if (!m?.[1] || !m[2] || m[3] === undefined)
    throw new Error(`unsupported matcher ${text} in alertmanager.yml`);
  return { name: m[1], matchType: m[2] as Matcher['matchType'], value: m[3] };
}

function route(r: AmRoute, top: boolean): Route {
  // The operator adds `namespace="<ns>"` to the top route; `job` keeps it to this service's alerts.
  const matchers = [...(top ? [matcher(`job="${NAME}"`)] : []), ...(r.matchers ?? []).map(matcher)];
  return {
    ...(r.receiver && { receiver: r.receiver }),
    ...(r.group_by && { groupBy: r.group_by }),
    ...(r.group_wait && { groupWait: r.group_wait }),
    ...(r.group_interval && { groupInterval: r.group_interval }),
    ...(r.repeat_interval && { repeatInterval: r.repeat_interval }),
    ...(matchers.length > 0 && { matchers }),
    ...(r.routes && { routes: r.routes.map((child) => route(child, false)) }),
  };
}

/** alertmanager/alertmanager.yml's routing, grouping and inhibition; receivers post to the Secret's URL. */
export function alertmanagerConfig() {
  const am = parse(readFileSync(ALERTMANAGER_FILE, 'utf8')) as AmConfig;
  return new AlertmanagerConfig({
    metadata: meta(),
    spec: {
      route: route(am.route, true),
      inhibitRules: am.inhibit_rules.map((rule) => ({
        sourceMatch: rule.source_matchers.map(matcher),
        targetMatch: rule.target_matchers.map(matcher),
        equal: rule.equal,
      })),
      receivers: am.receivers.map((receiver) => ({
        name: receiver.name,
        webhookConfigs: (receiver.webhook_configs ?? []).map((hook) => ({
          urlSecret: { name: SECRET_NAME, key: WEBHOOK_URL_KEY },
          sendResolved: hook.send_resolved ?? true,
        })),
      })),
    },
  });
}
