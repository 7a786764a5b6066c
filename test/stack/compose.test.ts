// docker-compose.yml and the files it mounts, checked without a Docker engine: the compose-spec schema,
// references between services, mounted paths, and the collector/Tempo/Loki/Grafana configuration.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, posix } from 'node:path';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { loadConfig } from '../../service/src/config.ts';
import { COMPOSE_FILE, DASHBOARDS_DIR, GRAFANA_DIR, OBSERVABILITY_DIR, ROOT } from './support/paths.ts';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is checked field by field below.
type Yaml = any;

const readYaml = (path: string): Yaml => parse(readFileSync(path, 'utf8'));
const compose: Yaml = readYaml(COMPOSE_FILE);
const services: Record<string, Yaml> = compose.services;

function composeValidator() {
  // dclint ships the current compose-spec schema (draft-07); its `$schema` URL is not one ajv
  // registers, and the spec relies on union types, so those two checks are relaxed. Unknown
  // keywords stay errors (strictSchema) so a schema ajv only half understands fails loudly.
  const require = createRequire(import.meta.url);
  const schemaPath = join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
  delete schema.$schema;
  const ajv = new Ajv({ allErrors: true, strictSchema: true, strictTypes: false, allowUnionTypes: true });
  return ajv.compile(schema);
}

/** Host side of a short-syntax bind mount, or undefined for a named volume. */
function bindSource(volume: string | { type: string; source: string }): string | undefined {
  if (typeof volume !== 'string') return volume.type === 'bind' ? volume.source : undefined;
  const source = volume.split(':')[0] ?? '';
  return source.startsWith('.') || source.startsWith('/') ? source : undefined;
}

/** Container path of a mount. */
function mountTarget(volume: string | { target: string }): string {
  return typeof volume === 'string' ? (volume.split(':')[1] ?? '') : volume.target;
}

/** The host file behind a container path, through the service's bind mounts. */
function hostPathOf(service: string, containerPath: string): string | undefined {
  for (const v of services[service]?.volumes ?? []) {
    const src = bindSource(v);
    const target = mountTarget(v);
    if (src === undefined) continue;
    if (containerPath === target) return join(ROOT, src);
    if (containerPath.startsWith(`${target}/`)) return join(ROOT, src, posix.relative(target, containerPath));
  }
  return undefined;
}

test('when docker-compose.yml is validated against the compose-spec schema, then it conforms', () => {
  const validate = composeValidator();
  const ok = validate(compose);
  assert.ok(ok, `compose-spec violations:\n${JSON.stringify(validate.errors, null, 2)}`);
});

test('when the compose-spec validator sees an unknown service key, then it rejects it (the schema is really applied)', () => {
  const validate = composeValidator();
  const broken = structuredClone(compose);
  broken.services.api.healthcheck.retry_forever = true;
  assert.equal(validate(broken), false);
});

test('when the stack is listed, then it has every service the issue names, each image pinned to a version', () => {
  for (const name of [
    'api',
    'redis',
    'prometheus',
    'alertmanager',
    'grafana',
    'otel-collector',
    'tempo',
    'loki',
  ])
    assert.ok(services[name], `service ${name} is missing`);
  assert.equal(services.api.build.dockerfile, 'Dockerfile');
  assert.ok(existsSync(join(ROOT, services.api.build.context, services.api.build.dockerfile)));
  for (const [name, svc] of Object.entries(services)) {
    if (svc.build) continue;
    const tag = String(svc.image).split(':')[1];
    assert.ok(tag && /\d/.test(tag) && tag !== 'latest', `${name}: image ${svc.image} is not pinned`);
  }
});

test('when services depend on each other, then every target exists and waits on health where it has a healthcheck', () => {
  for (const [name, svc] of Object.entries(services)) {
    for (const [target, spec] of Object.entries<Yaml>(svc.depends_on ?? {})) {
      assert.ok(services[target], `${name} depends on unknown service ${target}`);
      const expected = services[target].healthcheck ? 'service_healthy' : 'service_started';
      assert.equal(spec.condition, expected, `${name} -> ${target}: condition`);
    }
  }
  for (const name of ['api', 'redis', 'prometheus', 'alertmanager', 'grafana', 'tempo', 'loki'])
    assert.ok(services[name]?.healthcheck?.test, `${name} has no healthcheck`);
  assert.ok(services.api.depends_on.redis);
  assert.ok(services.grafana.depends_on.prometheus && services.grafana.depends_on.tempo);
});

test('when a service mounts a host path, then that file or folder exists; every named volume is declared', () => {
  let mounts = 0;
  for (const [name, svc] of Object.entries(services)) {
    for (const v of svc.volumes ?? []) {
      const src = bindSource(v);
      if (src === undefined) {
        const volumeName = (typeof v === 'string' ? v.split(':')[0] : v.source) as string;
        assert.ok(volumeName in (compose.volumes ?? {}), `${name}: volume ${volumeName} not declared`);
        continue;
      }
      mounts++;
      assert.ok(existsSync(join(ROOT, src)), `${name}: mounted ${src} does not exist`);
    }
  }
  assert.ok(mounts >= 8, `expected the config mounts, found ${mounts}`);
});

test('when Prometheus starts in the stack, then it stores exemplars and loads the mounted config whose rules exist', () => {
  const cmd: string[] = services.prometheus.command;
  assert.ok(cmd.includes('--enable-feature=exemplar-storage'));
  const configArg = cmd.find((a) => a.startsWith('--config.file='))?.split('=')[1] ?? '';
  const configHost = hostPathOf('prometheus', configArg);
  assert.ok(configHost && existsSync(configHost), `config ${configArg} is not mounted`);
  const config = readYaml(configHost);
  for (const rules of config.rule_files as string[]) {
    const host = hostPathOf('prometheus', posix.join(posix.dirname(configArg), rules));
    assert.ok(host && existsSync(host), `rule file ${rules} is not mounted`);
  }
  // Every replica of `--scale api=N` is discovered by DNS on the compose service name.
  const job = config.scrape_configs.find((j: Yaml) => j.job_name === 'items-api');
  assert.deepEqual(job.dns_sd_configs[0].names, ['api']);
  assert.equal(String(job.dns_sd_configs[0].port), services.api.environment.METRICS_PORT);
});

test('when the API container runs, then it exports OTLP to the collector and reaches Redis by service name', () => {
  const env = services.api.environment;
  assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://otel-collector:4318');
  assert.equal(env.REDIS_URL, 'redis://redis:6379');
  assert.equal(env.METRICS_HOST, '0.0.0.0');
});

test('when the API image starts, then it runs node with exactly the flags and entry point of `npm start`', () => {
  // The benchmark measures the flags of `npm start`; the image must run what was measured.
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
  assert.ok(cmd, 'the Dockerfile has no exec-form CMD');
  const image: string[] = JSON.parse(cmd);
  const start: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start;
  const words = start.split(/\s+/);
  assert.deepEqual(image, words.slice(words.indexOf('node')));
  assert.ok(image.includes('--no-allocation-site-pretenuring'));
});

/**
 * What the collector makes of `${env:NAME:-default}` in compose, where none of the names is set: the
 * default. The file reads its addresses this way so the tests can run the real collector on it.
 */
function composeValue(value: string): string {
  const m = /^\$\{env:[A-Z_][A-Z0-9_]*:-(.*)\}$/.exec(value);
  return m ? (m[1] ?? '') : value;
}

test('when the collector config is read, then OTLP comes in and traces go to Tempo, logs to Loki', () => {
  const configHost = hostPathOf('otel-collector', '/etc/otelcol/config.yaml');
  assert.ok(configHost && existsSync(configHost));
  assert.ok(services['otel-collector'].command.includes('--config=/etc/otelcol/config.yaml'));
  const c = readYaml(configHost);
  assert.ok(c.receivers.otlp.protocols.grpc && c.receivers.otlp.protocols.http);
  const { traces, logs } = c.service.pipelines;
  for (const p of [traces, logs]) {
    assert.deepEqual(p.receivers, ['otlp']);
    for (const proc of p.processors) assert.ok(c.processors[proc], `processor ${proc} not defined`);
    for (const exp of p.exporters) assert.ok(c.exporters[exp], `exporter ${exp} not defined`);
  }
  const traceExporter = c.exporters[traces.exporters[0]];
  assert.equal(composeValue(traceExporter.endpoint), 'tempo:4317');
  const tempo = readYaml(join(OBSERVABILITY_DIR, 'tempo.yaml'));
  assert.equal(tempo.distributor.receivers.otlp.protocols.grpc.endpoint, '0.0.0.0:4317');
  assert.equal(composeValue(c.exporters[logs.exporters[0]].endpoint), 'http://loki:3100/otlp');
  // The ports compose exposes are the ones the receivers listen on there.
  assert.equal(composeValue(c.receivers.otlp.protocols.grpc.endpoint), '0.0.0.0:4317');
  assert.equal(composeValue(c.receivers.otlp.protocols.http.endpoint), '0.0.0.0:4318');
  assert.equal(composeValue(c.extensions.health_check.endpoint), '0.0.0.0:13133');
  for (const ext of c.service.extensions) assert.ok(c.extensions[ext]);
});

test('when the Tempo and Loki configs are read, then they listen where Grafana looks and Loki keeps trace ids', () => {
  const tempo = readYaml(hostPathOf('tempo', '/etc/tempo/tempo.yaml') ?? '');
  assert.equal(tempo.server.http_listen_port, 3200);
  assert.equal(tempo.storage.trace.backend, 'local');
  const loki = readYaml(hostPathOf('loki', '/etc/loki/loki.yaml') ?? '');
  assert.equal(loki.server.http_listen_port, 3100);
  assert.equal(loki.auth_enabled, false);
  // OTLP log ingestion stores trace_id as structured metadata: needs schema v13 on a TSDB index.
  assert.equal(loki.limits_config.allow_structured_metadata, true);
  assert.equal(loki.schema_config.configs.at(-1).schema, 'v13');
  assert.equal(loki.schema_config.configs.at(-1).store, 'tsdb');
});

test('when Grafana provisions datasources, then exemplars link to Tempo, Tempo to Loki and Loki back to Tempo', () => {
  const dir = hostPathOf('grafana', '/etc/grafana/provisioning/datasources');
  assert.ok(dir && statSync(dir).isDirectory());
  const { datasources } = readYaml(join(dir, 'datasources.yaml'));
  const byType = (type: string) => datasources.find((d: Yaml) => d.type === type);
  const prom = byType('prometheus');
  const tempo = byType('tempo');
  const loki = byType('loki');
  assert.equal(prom.url, 'http://prometheus:9090');
  assert.equal(tempo.url, 'http://tempo:3200');
  assert.equal(loki.url, 'http://loki:3100');
  assert.deepEqual(prom.jsonData.exemplarTraceIdDestinations, [
    { name: 'trace_id', datasourceUid: tempo.uid },
  ]);
  assert.equal(tempo.jsonData.tracesToLogsV2.datasourceUid, loki.uid);
  assert.match(tempo.jsonData.tracesToLogsV2.query, /trace_id="\$\$\{__trace\.traceId\}"/);
  const derived = loki.jsonData.derivedFields[0];
  assert.equal(derived.datasourceUid, tempo.uid);
  assert.equal(derived.matcherRegex, 'trace_id');
});

test('when Grafana provisions dashboards, then the provider path is mounted, holds every dashboard, and the home dashboard is the service overview', () => {
  const dir = hostPathOf('grafana', '/etc/grafana/provisioning/dashboards');
  assert.ok(dir);
  const { providers } = readYaml(join(dir, 'dashboards.yaml'));
  const providerPath: string = providers[0].options.path;
  const hostDir = hostPathOf('grafana', providerPath);
  assert.equal(hostDir, DASHBOARDS_DIR);
  const files = readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 4, `dashboards: ${files.join(', ')}`);
  const uids = new Set<string>();
  for (const f of files) {
    const d = JSON.parse(readFileSync(join(DASHBOARDS_DIR, f), 'utf8'));
    assert.ok(d.uid && d.title && Array.isArray(d.panels), `${f} is not a dashboard`);
    assert.ok(!uids.has(d.uid), `duplicate uid ${d.uid}`);
    uids.add(d.uid);
  }
  const home = hostPathOf('grafana', services.grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH);
  assert.ok(home && existsSync(home), 'home dashboard file missing');
  assert.equal(JSON.parse(readFileSync(home, 'utf8')).title, 'items-api: Service overview');
  assert.ok(existsSync(join(GRAFANA_DIR, 'provisioning', 'datasources', 'datasources.yaml')));
});

test('when API replicas run, then they share one PostgreSQL by service name, which is pinned, health-checked and keeps its data in a named volume', () => {
  const pg = services.postgres;
  assert.match(String(pg.image), /^postgres:\d+\.\d+(-alpine)?$/, 'pinned to a minor release');
  assert.deepEqual(pg.healthcheck.test.slice(0, 2), ['CMD', 'pg_isready']);
  const dataVolume = (pg.volumes as string[]).find((v) => v.endsWith(':/var/lib/postgresql/data'));
  assert.ok(dataVolume && String(dataVolume.split(':')[0]) in compose.volumes, 'data in a named volume');
  assert.equal(services.api.depends_on.postgres.condition, 'service_healthy');
  // Compose interpolation with the default password, then the service's own config reading.
  const url = String(services.api.environment.DATABASE_URL).replace(/\$\{(\w+):-([^}]*)\}/g, '$2');
  const db = loadConfig({ NODE_ENV: 'development', DATABASE_URL: url }).database;
  assert.equal(db.kind, 'postgresql');
  const parsed = new URL(url);
  assert.equal(parsed.hostname, 'postgres');
  assert.equal(parsed.pathname, `/${pg.environment.POSTGRES_DB}`);
  assert.equal(parsed.username, pg.environment.POSTGRES_USER);
  assert.equal(
    parsed.password,
    String(pg.environment.POSTGRES_PASSWORD).replace(/\$\{(\w+):-([^}]*)\}/g, '$2'),
    'the API logs in with the password the database was created with',
  );
  assert.equal(pg.ports, undefined, 'not published on the host');
});
