// Service-worker side of the chat sites' public status pages: each polled while a tab of its site is
// open, judged by the Wasm core, kept in session storage for the popup; ChatGPT's is also shown in
// the toolbar badge.
//
// ChatGPT (status.openai.com, on incident.io): the native incident.io feed is read first (it names
// each incident's components and carries the updates' text); the Statuspage-compatible summary is
// the fallback when the feed fails (HTTP or network error, timeout, a document the core cannot
// read). The other sites: the one feed their adapter names (`status`: Atom, RSS, Google's
// incidents JSON filtered to the product), read by `core.detectParseSiteStatus`; a site without a
// public feed (Copilot) is not polled: its page signals stand alone.
//
// Storage (chrome.storage.session):
//   detect.status         ChatGPT's {report, source, at, ok_at, errors, error, next_at}
//                         source: 'incident.io' | 'statuspage', the document the report was read from
//   detect.status.<site>  another site's, the same shape (source: the feed's format)
import { ext } from '../api.js';
import { core, ready } from './core.js';
import { t } from './words.js';

export const STATUS_KEY = 'detect.status';
const FEED_URL = 'https://status.openai.com/proxy/status.openai.com';
const SUMMARY_URL = 'https://status.openai.com/api/v2/summary.json';
const STATUS_MIN_INTERVAL_MS = 120_000;
// The longest wait between two polls the core gives (after repeated failures); a next poll
// further away than this was scheduled by a clock that has since gone back.
const STATUS_MAX_DELAY_MS = 30 * 60_000;
const STATUS_TIMEOUT_MS = 15_000;
const ALARM = 'detect.status';
const CHATGPT_SOURCES = [['incident.io', FEED_URL, (text) => core.detectParseStatus(text)], ['statuspage', SUMMARY_URL, (text) => core.detectParseStatus(text)]];

const session = ext.storage.session;
const inFlight = new Map(); // site -> the poll under way

/** The storage key (and alarm name) of a site's status. */
export const statusKey = (site) => (site === 'chatgpt' ? STATUS_KEY : `${STATUS_KEY}.${site}`);

/** What to read for a site: [[source, url, parse(text)]], empty for a site without a feed. */
function sourcesOf(site) {
  if (site === 'chatgpt') return CHATGPT_SOURCES;
  const feed = core.detectAdapter(site, null)?.status;
  if (!feed?.url) return [];
  return [[feed.format ?? 'feed', feed.url, (text) => core.detectParseSiteStatus(site, text)]];
}

/** Whether a tab of `site` is open (its adapter's hosts). */
async function siteTabOpen(site) {
  try {
    const hosts = core.detectAdapter(site, null)?.hosts ?? [];
    return hosts.length > 0 && (await ext.tabs.query({ url: hosts.map((h) => `https://${h}/*`) })).length > 0;
  } catch {
    return true;
  }
}

function statusBadge(report) {
  const action = ext.action;
  if (!action) return;
  const level = report?.level;
  const text = level === 'major_outage' ? '!!' : level === 'partial_outage' ? '!' : '';
  action.setBadgeText({ text }).catch(() => {});
  if (text) action.setBadgeBackgroundColor({ color: level === 'major_outage' ? '#b42318' : '#b54708' }).catch(() => {});
}

/** One status document fetched (each with its own timeout) and read by the core. */
async function read(url, parse) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), STATUS_TIMEOUT_MS);
  try {
    const response = await fetch(url, { signal: ctl.signal, cache: 'no-store', credentials: 'omit' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return parse(await response.text());
  } finally {
    clearTimeout(timer);
  }
}

/** The first source that answers with a readable document, or an error naming each failure. */
async function readFirst(sources) {
  const failures = [];
  for (const [source, url, parse] of sources) {
    try {
      return { source, report: await read(url, parse) };
    } catch (error) {
      const why = error?.name === 'AbortError' ? t('worker_why_timeout') : String(error?.message ?? error);
      failures.push(`${source}: ${why}`);
    }
  }
  throw new Error(failures.join('; '));
}

/**
 * Whether the last poll is from a clock that has since gone back (it looks like the future): the
 * interval is then counted from now, not from a time hours ahead.
 */
const clockWentBack = (prev, now) => Boolean(prev?.at && (now < prev.at || (prev.next_at ?? 0) - now > STATUS_MAX_DELAY_MS));

/**
 * Polls `site`'s status page unless it was polled less than two minutes ago; schedules the next
 * poll. Resolves to the stored status, or null for a site without a public feed.
 */
export function pollStatus(site = 'chatgpt') {
  if (!inFlight.has(site)) {
    inFlight.set(site, (async () => {
      await ready;
      const sources = sourcesOf(site);
      if (!sources.length) return null;
      const key = statusKey(site);
      const prev = (await session.get(key))[key] ?? { report: null, errors: 0 };
      const now = Date.now();
      if (prev.at && !clockWentBack(prev, now) && now - prev.at < STATUS_MIN_INTERVAL_MS) {
        // Polled recently: make sure the next poll is scheduled all the same.
        if (!(await ext.alarms.get(key))) ext.alarms.create(key, { delayInMinutes: Math.max((prev.next_at ?? 0) - now, 1000) / 60_000 });
        return prev;
      }
      let next;
      try {
        const { source, report } = await readFirst(sources);
        next = { report, source, at: now, ok_at: now, errors: 0, error: null };
      } catch (error) {
        next = { ...prev, at: now, errors: (prev.errors ?? 0) + 1, error: String(error?.message ?? error) };
      }
      const delay = core.detectNextPollDelayMs(next.errors);
      next.next_at = now + delay;
      await session.set({ [key]: next });
      if (site === 'chatgpt') statusBadge(next.report);
      // A delay, not a time: the browser counts it from its own now, whatever this clock says.
      ext.alarms.create(key, { delayInMinutes: delay / 60_000 });
      return next;
    })().finally(() => inFlight.delete(site)));
  }
  return inFlight.get(site);
}

/**
 * Polls `site`'s status now when no poll is scheduled, the scheduled one is overdue, or the clock
 * went back since the last poll (the browser's alarm would then fire hours late) (a page of the
 * site just loaded).
 */
export async function ensureStatusPolling(site = 'chatgpt') {
  const key = statusKey(site);
  const alarm = await ext.alarms.get(key);
  const prev = (await session.get(key))[key];
  const now = Date.now();
  if (!alarm || !prev || now >= (prev.next_at ?? 0) || clockWentBack(prev, now)) await pollStatus(site);
}

ext.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name !== ALARM && !alarm.name.startsWith(`${ALARM}.`)) return;
  const site = alarm.name === ALARM ? 'chatgpt' : alarm.name.slice(ALARM.length + 1);
  ready
    .then(() => (core.detectAdapter(site, null) ? siteTabOpen(site) : false))
    .then((open) => (open ? pollStatus(site) : ext.alarms.clear(alarm.name)))
    .catch(() => {});
});
