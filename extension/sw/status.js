// Service-worker side of the public status page (status.openai.com, on incident.io): polled while a
// chat tab is open, judged by the Wasm core, kept in session storage for the popup, shown in the
// toolbar badge.
//
// The native incident.io feed is read first (it names each incident's components and carries the
// updates' text); the Statuspage-compatible summary is the fallback when the feed fails (HTTP or
// network error, timeout, a document the core cannot read).
//
// Storage (chrome.storage.session):
//   detect.status  {report, source, at, ok_at, errors, error, next_at}
//                  source: 'incident.io' | 'statuspage', the document the report was read from
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
const CHAT_URLS = ['https://chatgpt.com/*', 'https://chat.openai.com/*'];
const SOURCES = [['incident.io', FEED_URL], ['statuspage', SUMMARY_URL]];

const session = ext.storage.session;
let statusInFlight = null;

async function chatTabOpen() {
  try {
    return (await ext.tabs.query({ url: CHAT_URLS })).length > 0;
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
async function read(url) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), STATUS_TIMEOUT_MS);
  try {
    const response = await fetch(url, { signal: ctl.signal, cache: 'no-store', credentials: 'omit' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return core.detectParseStatus(await response.text());
  } finally {
    clearTimeout(timer);
  }
}

/** The first source that answers with a readable document, or an error naming each failure. */
async function readFirst() {
  const failures = [];
  for (const [source, url] of SOURCES) {
    try {
      return { source, report: await read(url) };
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

/** Polls the status page unless it was polled less than two minutes ago; schedules the next poll. */
export function pollStatus() {
  statusInFlight ??= (async () => {
    await ready;
    const prev = (await session.get(STATUS_KEY))[STATUS_KEY] ?? { report: null, errors: 0 };
    const now = Date.now();
    if (prev.at && !clockWentBack(prev, now) && now - prev.at < STATUS_MIN_INTERVAL_MS) {
      // Polled recently: make sure the next poll is scheduled all the same.
      if (!(await ext.alarms.get(ALARM))) ext.alarms.create(ALARM, { delayInMinutes: Math.max((prev.next_at ?? 0) - now, 1000) / 60_000 });
      return prev;
    }
    let next;
    try {
      const { source, report } = await readFirst();
      next = { report, source, at: now, ok_at: now, errors: 0, error: null };
    } catch (error) {
      next = { ...prev, at: now, errors: (prev.errors ?? 0) + 1, error: String(error?.message ?? error) };
    }
    const delay = core.detectNextPollDelayMs(next.errors);
    next.next_at = now + delay;
    await session.set({ [STATUS_KEY]: next });
    statusBadge(next.report);
    // A delay, not a time: the browser counts it from its own now, whatever this clock says.
    ext.alarms.create(ALARM, { delayInMinutes: delay / 60_000 });
    return next;
  })().finally(() => {
    statusInFlight = null;
  });
  return statusInFlight;
}

/**
 * Polls now when no poll is scheduled, the scheduled one is overdue, or the clock went back since
 * the last poll (the browser's alarm would then fire hours late) (a chat page just loaded).
 */
export async function ensureStatusPolling() {
  const alarm = await ext.alarms.get(ALARM);
  const prev = (await session.get(STATUS_KEY))[STATUS_KEY];
  const now = Date.now();
  if (!alarm || !prev || now >= (prev.next_at ?? 0) || clockWentBack(prev, now)) await pollStatus();
}

ext.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name !== ALARM) return;
  chatTabOpen().then((open) => (open ? pollStatus() : ext.alarms.clear(ALARM))).catch(() => {});
});
