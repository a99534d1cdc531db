// What every fake chat site of the end-to-end suite shares (fake-claude/, fake-gemini/, ...): an
// HTTPS server on loopback with the self-signed setup of the fake chatgpt.com (the browser is
// started with --ignore-certificate-errors and `launch({ hostRules: { '<host>': port } })` maps the
// site's host here), the site's own strict CSP on every answer, its page and static files, a
// state the tests steer (`setMode(state)` replaces the previous state over the defaults;
// POST /__control does the same, GET /__control reads it), the requests received, and responses
// held open (a stall) that `close()` ends.
//
// `startFakeSite({host, csp, page, dir, files, defaults, pages, route, upgrade})`:
// - page: the HTML of every page route; pages(pathname) says which GET paths are pages;
// - dir + files: static files served from `dir` ({'/app.js': 'text/javascript; charset=utf-8'});
// - route(ctx): the site's API; ctx = {req, res, url, path, method, body, state, json(status,
//   value), headers (the common headers: CSP, no-store), hold(res) (kept open until close)};
//   returns true when it answered;
// - upgrade(req, socket, head, ctx): a WebSocket upgrade (Copilot), when the site has one.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { certificate } from '../fake-chatgpt/server.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** An answer's words with their trailing spaces (the pieces a fake streams). */
export const tokens = (text) => text.match(/\S+\s*/g) ?? [];

export function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

export async function startFakeSite({ host, csp, page, dir, files = {}, defaults = {}, pages = () => false, route, upgrade = null, port = 0 }) {
  let state = { ...defaults };
  const requests = [];
  const open = new Set();
  const setState = (next) => {
    state = { ...defaults, ...next };
  };
  const headers = { 'content-security-policy': csp, 'cache-control': 'no-store' };
  const hold = (res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
  };
  const server = https.createServer(certificate(), async (req, res) => {
    const url = new URL(req.url, `https://${host}`);
    const body = await readBody(req);
    const p = url.pathname;
    const json = (status, value) => {
      res.writeHead(status, { ...headers, 'content-type': 'application/json' });
      res.end(typeof value === 'string' ? value : JSON.stringify(value));
    };
    if (p === '/__control') {
      if (req.method === 'POST') {
        setState(JSON.parse(body || '{}'));
        res.writeHead(204).end();
      } else {
        json(200, state);
      }
      return;
    }
    requests.push({ method: req.method, path: p, search: url.search, body });
    if (Object.hasOwn(files, p)) {
      res.writeHead(200, { ...headers, 'content-type': files[p] });
      res.end(fs.readFileSync(path.join(dir, p.slice(1))));
      return;
    }
    try {
      if (await route({ req, res, url, path: p, method: req.method, body, state, json, headers, hold })) return;
    } catch (error) {
      if (!res.headersSent) json(500, { error: String(error?.message ?? error) });
      else res.destroy();
      return;
    }
    if (req.method === 'GET' && pages(p)) {
      res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
      res.end(page);
      return;
    }
    json(404, { error: 'not found' });
  });
  if (upgrade) server.on('upgrade', (req, socket, head) => upgrade(req, socket, head, { state, hold: (s) => { open.add(s); s.on('close', () => open.delete(s)); } }));
  server.keepAliveTimeout = 1000;
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    requests,
    /** Changes how the backend (and pages loaded from now on) behave. */
    setMode: setState,
    state: () => state,
    close: () => new Promise((resolve) => {
      for (const r of open) r.destroy();
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}
