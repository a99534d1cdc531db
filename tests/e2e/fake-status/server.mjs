// A local impersonation of https://status.openai.com (incident.io) for end-to-end tests: HTTPS on
// loopback, the native feed `/proxy/status.openai.com` and the Statuspage-compatible
// `/api/v2/summary.json` answering what the test sets, and a log of polls.
import https from 'node:https';
import { certificate } from '../fake-chatgpt/server.mjs';

export const FEED_PATH = '/proxy/status.openai.com';
export const SUMMARY_PATH = '/api/v2/summary.json';

/** A summary with the given components (`[[name, status]]`) and open incidents (`[[title, impact]]`). */
export function summary(components = [], incidents = []) {
  return {
    page: { id: 'fake', name: 'OpenAI', url: 'https://status.openai.com' },
    status: { indicator: incidents.length ? 'major' : 'none', description: incidents.length ? 'Partial outage' : 'All Systems Operational' },
    components: components.map(([name, status], i) => ({ id: `c${i}`, name, status, group: false })),
    incidents: incidents.map(([name, impact], i) => ({ id: `i${i}`, name, status: 'investigating', impact })),
  };
}

// The page's groups as status.openai.com shows them (component ids are made up, ULID-like).
const GROUPS = {
  ChatGPT: ['Login', 'Conversations', 'Voice mode', 'GPTs'],
  API: ['Chat Completions', 'Responses', 'Batch API'],
  Codex: ['Codex'],
  Sora: ['Sora'],
};
const componentId = (name) => `01JFAKE${name.toUpperCase().replace(/[^A-Z]/g, '').padEnd(19, '0').slice(0, 19)}`;

/**
 * incident.io's native feed: the groups above, `affected` components (`[[name, status]]`, statuses
 * operational|degraded_performance|partial_outage|full_outage) and ongoing `incidents`
 * (`{name, status, published_at, components: [name], updates: [{message, published_at}]}`, updates
 * newest first, as the page lists them).
 */
export function feed({ affected = [], incidents = [], maintenances = [] } = {}) {
  const all = Object.values(GROUPS).flat();
  const incident = (i, n) => ({
    id: `01JFAKEINCIDENT${String(n).padStart(11, '0')}`,
    name: i.name,
    status: i.status ?? 'investigating',
    published_at: i.published_at,
    url: `https://status.openai.com/incidents/${n}`,
    affected_components: (i.components ?? []).map((c) => ({ component_id: componentId(c), status: i.impact ?? 'degraded_performance' })),
    updates: (i.updates ?? []).map((u, k) => ({ id: `01JFAKEUPDATE${n}${k}`, message_string: u.message, published_at: u.published_at, to_status: i.status ?? 'investigating' })),
  });
  return {
    summary: {
      id: '01JFAKEPAGE', name: 'OpenAI', subpath: 'status.openai.com',
      components: all.map((name) => ({ id: componentId(name), name, status_page_id: '01JFAKEPAGE' })),
      structure: {
        id: '01JFAKESTRUCTURE',
        items: Object.entries(GROUPS).map(([name, members]) => ({
          group: { id: componentId(`group ${name}`), name, hidden: false, components: members.map((c) => ({ component_id: componentId(c), name: c, hidden: false })) },
        })),
      },
      affected_components: affected.map(([name, status]) => ({ component_id: componentId(name), status })),
      ongoing_incidents: incidents.map(incident),
      in_progress_maintenances: maintenances.map((m, n) => incident(m, 100 + n)),
      scheduled_maintenances: [],
    },
  };
}

const answerOf = (next) => (typeof next.status === 'number' ? next : { status: 200, body: JSON.stringify(next) });

export async function startFakeStatus({ port = 0 } = {}) {
  let answer = { status: 200, body: JSON.stringify(summary([['Conversations', 'operational']])) };
  let feedAnswer = null; // not served (404) until the test sets it
  let feedFails = false;
  const polls = [];
  const server = https.createServer(certificate(), (req, res) => {
    const path = new URL(req.url, 'https://status.openai.com').pathname;
    polls.push({ path, at: Date.now() });
    const send = ({ status, body }) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(body);
    };
    if (path === SUMMARY_PATH) return send(answer);
    if (path === FEED_PATH && feedFails) return send({ status: 500, body: '{"error":"internal server error"}' });
    if (path === FEED_PATH && feedAnswer) return send(feedAnswer);
    send({ status: 404, body: '{}' });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    polls,
    /** What the summary answers from now on: a summary object, or {status, body}. */
    set(next) {
      answer = answerOf(next);
    },
    /** What the native feed answers from now on: a feed object, {status, body}, or null (404). */
    setFeed(next) {
      feedAnswer = next == null ? null : answerOf(next);
    },
    /** While on, the native feed answers 500 (the worker falls back to the summary). */
    failFeed(on = true) {
      feedFails = on;
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}
