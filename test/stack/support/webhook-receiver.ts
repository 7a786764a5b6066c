// A stand-in for the on-call's webhook (Slack, PagerDuty, a chat bridge): records every notification
// Alertmanager POSTs, in Alertmanager's webhook JSON, and answers 200.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

export interface NotifiedAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
}
/** Alertmanager's webhook payload (version 4). */
export interface Notification {
  version: string;
  status: 'firing' | 'resolved';
  receiver: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  externalURL: string;
  alerts: NotifiedAlert[];
}

export interface WebhookReceiver {
  readonly url: string;
  readonly notifications: Notification[];
  /** Resolves with the first notification that matches (polls what arrived; rejects after the timeout). */
  waitFor(match: (n: Notification) => boolean, timeoutMs: number): Promise<Notification>;
}

export async function startWebhookReceiver(t: TestContext): Promise<WebhookReceiver> {
  const notifications: Notification[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      notifications.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Notification);
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/alerts`,
    notifications,
    async waitFor(match, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = notifications.find(match);
        if (found) return found;
        if (Date.now() > deadline)
          throw new Error(
            `no matching notification within ${timeoutMs} ms; received:\n${JSON.stringify(notifications, null, 2)}`,
          );
        await sleep(100);
      }
    },
  };
}
