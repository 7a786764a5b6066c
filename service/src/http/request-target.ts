// A request target that url.parse refuses (`//a@[/`, reached by parseurl for targets holding `#` or a
// space) makes Express's router skip every middleware and answer finalhandler's bare HTML 404. Such a
// request is routed to `/`, marked, so request-conformance.ts refuses it as problem+json like the rest.
import type { IncomingMessage, RequestListener } from 'node:http';
import parseurl from 'parseurl';

const unparseable = new WeakSet<IncomingMessage>();

export function routableTargets(listener: RequestListener): RequestListener {
  return (req, res) => {
    try {
      // Memoised on req: the router's own call reuses this parse, so a valid target costs nothing more.
      parseurl(req);
    } catch {
      unparseable.add(req);
      // Express keeps an originalUrl it finds set: the access log shows what the client sent.
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
      req.url = '/';
    }
    listener(req, res);
  };
}

export const hasUnparseableTarget = (req: IncomingMessage): boolean => unparseable.has(req);
