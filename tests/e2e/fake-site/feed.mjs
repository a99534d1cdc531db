// A chat site's public status feed for the end-to-end tests (status.deepseek.com's Atom history,
// status.x.ai's RSS, ...): one document at one path on the feed's host (HTTPS on loopback, mapped
// with `launch({ hostRules: { [host]: feed.port } })`), every request logged in `feed.requests`.
// Serving it keeps the extension's status poll (a site's tab is open) off the real host.
import { startFakeSite } from './server.mjs';

const TYPES = { atom: 'application/atom+xml; charset=utf-8', rss: 'application/rss+xml; charset=utf-8', json: 'application/json' };

/** `{host, path, format ('atom' | 'rss' | 'json'), body}` → the fake site ({port, requests, close}). */
export function startFakeFeed({ host, path, format, body }) {
  return startFakeSite({
    host,
    csp: "default-src 'none'",
    page: '',
    route: ({ path: p, res }) => {
      if (p !== path) return false;
      res.writeHead(200, { 'content-type': TYPES[format] ?? 'text/plain; charset=utf-8' });
      res.end(body);
      return true;
    },
  });
}
