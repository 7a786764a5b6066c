// Uncaught exceptions and unhandled rejections are reported to Sentry by the preloaded
// instrumentation before the process dies, as Node would without it.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { startSentryReceiver } from '../support/sentry-receiver.ts';
import { ROOT } from '../support/service-process.ts';

const crashes = {
  'an uncaught exception': "setTimeout(() => { throw new Error('uncaught boom'); }, 10);",
  'an unhandled rejection': "setTimeout(() => { Promise.reject(new Error('unhandled boom')); }, 10);",
};

for (const [what, code] of Object.entries(crashes)) {
  test(`when ${what} escapes, then Sentry receives it and the process still exits with an error`, async (t) => {
    const sentry = await startSentryReceiver();
    t.after(() => sentry.close());
    const child = spawn(
      process.execPath,
      ['--import', './service/src/instrumentation.ts', '--input-type=module', '-e', code],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, NODE_ENV: 'test', SENTRY_DSN: sentry.dsn },
        stdio: 'ignore',
      },
    );
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const [exitCode] = (await once(child, 'exit')) as [number | null];
    assert.notEqual(exitCode, 0);
    const event = await sentry.waitForEvent(() => true, 5_000);
    const exception = JSON.stringify(event.exception);
    assert.match(exception, /boom/);
    assert.match(exception, /"handled":false/);
    assert.equal(event.environment, 'test');
  });
}
