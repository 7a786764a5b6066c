// parseurl (Express's own URL parser, a dependency of express and router) ships no types.
declare module 'parseurl' {
  import type { IncomingMessage } from 'node:http';
  import type { Url } from 'node:url';
  export default function parseurl(req: IncomingMessage): Url | undefined;
}
