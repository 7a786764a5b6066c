// A stand-in for the Kubernetes API server, as much of it as the agent's k8s_attributes processor reads:
// it lists and watches pods (filtered by node, as the processor asks) and finds the given ones; every
// other list is empty. No cluster runs here; the kubeconfig it writes points the collector at it.
import { writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface StandInPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly nodeName: string;
  /** The ReplicaSet that owns the pod (`<deployment>-<pod-template-hash>`). */
  readonly replicaSet: string;
  readonly container: string;
  readonly ip: string;
}

export interface KubeApiStandIn {
  /** Path of a kubeconfig naming this server (KUBECONFIG for a collector with auth_type kubeConfig). */
  readonly kubeconfig: string;
  /** Request paths seen (with their query), e.g. to prove the pod list was filtered by node. */
  readonly requests: string[];
  close(): Promise<void>;
}

function podObject(p: StandInPod) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: p.uid,
      resourceVersion: '1',
      // What the ReplicaSet controller sets: k8s_attributes trims it off the ReplicaSet's name.
      labels: { 'pod-template-hash': p.replicaSet.slice(p.replicaSet.lastIndexOf('-') + 1) },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: p.replicaSet,
          uid: `rs-${p.uid}`,
          controller: true,
        },
      ],
    },
    spec: { nodeName: p.nodeName, containers: [{ name: p.container, image: 'items-api:test' }] },
    status: { phase: 'Running', podIP: p.ip, startTime: new Date().toISOString() },
  };
}

export async function startKubeApiStandIn(dir: string, pods: readonly StandInPod[]): Promise<KubeApiStandIn> {
  const requests: string[] = [];
  const watches = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    requests.push(`${url.pathname}${url.search}`);
    res.setHeader('content-type', 'application/json');
    const kind = url.pathname.split('/').at(-1) ?? '';
    let items: unknown[] = [];
    if (url.pathname === '/api/v1/pods') {
      // fieldSelector=spec.nodeName=NODE: the node filter of the processor (K8S_NODE_NAME).
      const node = /spec\.nodeName=([^,]+)/.exec(url.searchParams.get('fieldSelector') ?? '')?.[1];
      items = pods.filter((p) => node === undefined || p.nodeName === node).map(podObject);
    }
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200);
      // A client that streams its initial list (client-go's WatchList) gets the items as ADDED events
      // and the bookmark that ends them; then, as for any watch, no change ever. Held open until close.
      if (url.searchParams.get('sendInitialEvents') === 'true') {
        for (const object of items) res.write(`${JSON.stringify({ type: 'ADDED', object })}\n`);
        const end = { resourceVersion: '1', annotations: { 'k8s.io/initial-events-end': 'true' } };
        res.write(
          `${JSON.stringify({ type: 'BOOKMARK', object: { kind: kind.charAt(0).toUpperCase() + kind.slice(1, -1), apiVersion: 'v1', metadata: end } })}\n`,
        );
      } else res.flushHeaders();
      watches.add(res);
      res.on('close', () => watches.delete(res));
      return;
    }
    const listKind = `${kind.charAt(0).toUpperCase()}${kind.slice(1, -1)}List`;
    res.end(JSON.stringify({ kind: listKind, apiVersion: 'v1', metadata: { resourceVersion: '1' }, items }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: stand-in, cluster: {server: "http://127.0.0.1:${port}"}}]`,
      'users: [{name: stand-in, user: {}}]',
      'contexts: [{name: stand-in, context: {cluster: stand-in, user: stand-in}}]',
      'current-context: stand-in',
      '',
    ].join('\n'),
  );
  return {
    kubeconfig,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const w of watches) w.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
