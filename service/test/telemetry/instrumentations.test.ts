// Which instrumentations load: the list in instrumentations.ts, or OTEL_NODE_ENABLED_INSTRUMENTATIONS,
// minus OTEL_NODE_DISABLED_INSTRUMENTATIONS (auto-instrumentations-node's semantics), with the
// modules each one needs hooked; a name that matches no installed package is refused.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  INSTRUMENTATIONS,
  InstrumentationSetupError,
  loadInstrumentations,
} from '../../src/telemetry/instrumentations.ts';
import { modulesToHook } from '../../src/telemetry/sdk.ts';

const ctx = { isOwnRequest: () => false, isOwnOrigin: () => false };
const load = async (env: NodeJS.ProcessEnv) => {
  const loaded = await loadInstrumentations(env, ctx);
  // Constructing one enables it; nothing in this process needs it patched.
  for (const l of loaded) l.instrumentation.disable();
  return loaded;
};
const names = async (env: NodeJS.ProcessEnv) => (await load(env)).map((l) => l.name);

test('when no variable is set, then the list in instrumentations.ts loads, and the modules its entries patch are hooked', async () => {
  const loaded = await load({});
  assert.deepEqual(
    loaded.map((l) => l.name),
    Object.keys(INSTRUMENTATIONS),
  );
  const hooked = modulesToHook(loaded.map((l) => l.instrumentation));
  for (const name of ['http', 'https', 'pino']) assert.ok(hooked.includes(name), name);
});

test('when OTEL_NODE_ENABLED_INSTRUMENTATIONS is set, then exactly those load, and their modules join the hooked ones', async () => {
  const loaded = await load({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: ' pino , ioredis,' });
  assert.deepEqual(
    loaded.map((l) => l.name),
    ['pino', 'ioredis'],
  );
  assert.deepEqual(modulesToHook(loaded.map((l) => l.instrumentation)).sort(), ['ioredis', 'pino']);
  assert.equal(loaded[1]?.instrumentation.instrumentationName, '@opentelemetry/instrumentation-ioredis');
});

test('when OTEL_NODE_DISABLED_INSTRUMENTATIONS is set, then it is applied after the enabled list', async () => {
  const all = Object.keys(INSTRUMENTATIONS);
  assert.deepEqual(
    await names({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'pino' }),
    all.filter((n) => n !== 'pino'),
  );
  assert.deepEqual(
    await names({
      OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,ioredis',
      OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'ioredis',
    }),
    ['http'],
  );
  assert.deepEqual(await names({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: all.join(',') }), []);
});

test('when a name matches no installed package, then loading refuses with the package to install', async () => {
  await assert.rejects(
    load({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,mongodb-typo' }),
    (err: Error) =>
      err instanceof InstrumentationSetupError &&
      err.message ===
        'OTEL_NODE_ENABLED_INSTRUMENTATIONS names the instrumentation "mongodb-typo", but @opentelemetry/instrumentation-mongodb-typo is not installed (npm install @opentelemetry/instrumentation-mongodb-typo)',
  );
  // A typo in the disabled list would leave the instrumentation on without a word.
  await assert.rejects(
    load({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'pin' }),
    (err: Error) =>
      err instanceof InstrumentationSetupError &&
      err.message.startsWith('OTEL_NODE_DISABLED_INSTRUMENTATIONS names the instrumentation "pin"'),
  );
});
