// Bare Express 5, as its README shows it: the probe route, and the items route reading the same SQLite row.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import express from 'express';
import { announceReady, exitOnSignal, HELLO_BODY, HELLO_PATH } from './common.ts';

const db = new DatabaseSync(process.env.BENCH_DATABASE_PATH ?? ':memory:');
const byId = db.prepare('SELECT id, name, quantity, created_at, updated_at FROM items WHERE id = ?');

const app = express();
app.get(HELLO_PATH, (_req, res) => {
  res.json(HELLO_BODY);
});
app.get('/api/v1/items/:id', (req, res) => {
  const r = byId.get(req.params.id) as Record<string, string | number> | undefined;
  if (!r) {
    res.status(404).json({ error: 'not found' });
    return;
  }
  res.json({
    id: r.id,
    name: r.name,
    quantity: r.quantity,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });
});

const server = app.listen(0, '127.0.0.1');
await once(server, 'listening');
announceReady({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
exitOnSignal(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
      db.close();
    }),
);
