// A local impersonation of https://status.openai.com (a Statuspage-compatible API) for end-to-end
// tests: HTTPS on loopback, `/api/v2/summary.json` answering what the test sets, and a log of polls.
import https from 'node:https';
import { certificate } from '../fake-chatgpt/server.mjs';

/** A summary with the given components (`[[name, status]]`) and open incidents (`[[title, impact]]`). */
export function summary(components = [], incidents = []) {
  return {
    page: { id: 'fake', name: 'OpenAI', url: 'https://status.openai.com' },
    status: { indicator: incidents.length ? 'major' : 'none', description: incidents.length ? 'Partial outage' : 'All Systems Operational' },
    components: components.map(([name, status], i) => ({ id: `c${i}`, name, status, group: false })),
    incidents: incidents.map(([name, impact], i) => ({ id: `i${i}`, name, status: 'investigating', impact })),
  };
}

export async function startFakeStatus({ port = 0 } = {}) {
  let answer = { status: 200, body: JSON.stringify(summary([['Conversations', 'operational']])) };
  const polls = [];
  const server = https.createServer(certificate(), (req, res) => {
    polls.push({ path: new URL(req.url, 'https://status.openai.com').pathname, at: Date.now() });
    if (req.url.startsWith('/api/v2/summary.json')) {
      res.writeHead(answer.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(answer.body);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    polls,
    /** What the summary answers from now on: a summary object, or {status, body}. */
    set(next) {
      answer = typeof next.status === 'number' ? next : { status: 200, body: JSON.stringify(next) };
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}
