// Service-worker side of the settings: the one writer of the settings document, with the managed
// policy laid over it, and first-run onboarding.
//
// One-shot messages (runtime.sendMessage), answered to the extension's own pages only (never to a
// content script: core.js SENDERS refuses them before they reach this module):
//   settings.get                          → {settings, has_key: [id], locks: {providers, fields, user_providers}}
//   settings.save {settings, clear_keys}  → {saved: true, view} | {saved: false, error: {field, message}}
//   settings.import {text}                → same as save, plus `keys_not_kept: [{id, label, message}]`
//       when the file moved a provider elsewhere: a stored key stays only with a provider whose
//       kind, scheme, host and port are unchanged (src/preferences.rs `import`)
//   settings.reset                        → same as save (the defaults, under the policy)
//   settings.export {include_keys}        → {text} (never the organisation's keys)
//   settings.quick {paused?: bool, auto?: bool, capture?: bool} → same as save: the popup's and the
//                  library's switches, applied to
//       the stored document through the same validation and policy (a locked field is refused).
//       Turning auto mode on with no failure kind chosen chooses `service_down` and `capacity`.
// `view` is what settings.get answers. No answer ever holds an API key.
// Content scripts may ask only:
//   settings.page                         → {paused, capture, auto_mode, answer_in} (what a chat page needs)
// Chat tabs are sent {type: 'settings.page.changed', value: <the same>} when a write changes it.
// Storage: local `settings` (the effective document, keys included, read by the providers module),
// local `settings.managedIds` (the organisation's provider ids last applied), local
// `settings.policy` (the policy as last read, JSON: `settings.get` answers with it at once while
// managed storage is slow to answer after a browser start); the policy is
// `chrome.storage.managed` (see managed_schema.json). Local and managed storage are restricted to
// the extension's own contexts, so content scripts cannot read them.
import { ext, trustedContextsOnly } from '../api.js';
import { core, onMessages, ready } from './core.js';
import { t } from './words.js';

const K_SETTINGS = 'settings';
const K_MANAGED_IDS = 'settings.managedIds';
const K_POLICY = 'settings.policy';
const ONBOARDING = 'www/onboarding.html';
const AUTO_KINDS = ['service_down', 'capacity', 'generation_error', 'network_error', 'rate_limited', 'conversation_unavailable', 'unknown_error'];
const PAUSED_BADGE = '⏸';

// Keys live in storage.local: keep it (and the policy) away from content scripts (Chrome only: see
// api.js).
for (const area of [ext.storage.local, ext.storage.managed]) trustedContextsOnly(area);

let writes = Promise.resolve();
/** Runs read-modify-write steps one at a time. */
function serial(fn) {
  const run = writes.then(fn, fn);
  writes = run.catch(() => {});
  return run;
}

// The policy, read once per worker life (and again when it changes). Chromium's first read of
// managed storage can take seconds after the browser starts (2.7 s measured on Linux without any
// policy), so it starts as this module loads, and nothing waits for it: until it has answered, the
// settings are read and written under the policy last read (kept in local `settings.policy`, where
// the effective document with its keys already lives; none on the first run), and a policy that
// differs is laid over the stored document as soon as it is read (locked values restored).
let policyRead = null;
let policyKnown = false; // the current read has completed
function readPolicy() {
  if (!policyRead) {
    policyKnown = false;
    const read = (policyRead = Promise.resolve()
      .then(() => ext.storage.managed.get(null))
      .then((p) => p ?? {}, () => ({})) // no managed storage here (no policy, or a browser without it)
      .then(async (policy) => {
        const text = JSON.stringify(policy);
        const changed = (await ext.storage.local.get(K_POLICY))[K_POLICY] !== text;
        if (changed) await ext.storage.local.set({ [K_POLICY]: text });
        if (read === policyRead) policyKnown = true;
        if (changed) refresh().catch((e) => console.warn('understudy: policy not applied:', e?.message ?? e));
        return policy;
      }));
  }
  return policyRead;
}
readPolicy().catch(() => {});

/** The policy as JSON: the one just read, or the one last read while managed storage is slow. */
async function currentPolicy() {
  if (policyKnown) return JSON.stringify(await readPolicy());
  return (await ext.storage.local.get(K_POLICY))[K_POLICY] ?? '{}';
}

async function state() {
  const local = await ext.storage.local.get([K_SETTINGS, K_MANAGED_IDS]);
  return {
    stored: local[K_SETTINGS] === undefined ? '' : JSON.stringify(local[K_SETTINGS]),
    policy: await currentPolicy(),
    previous: JSON.stringify(local[K_MANAGED_IDS] ?? []),
  };
}

/**
 * Stores a successful outcome (only when it changed) and answers what a page may see; an import's
 * answer also names the stored keys it left behind (`keys_not_kept`: [{id, label, message}]).
 */
async function commit(outcome, current) {
  if (!outcome.ok) return { saved: false, error: outcome.error };
  const notKept = outcome.keys_not_kept?.length ? { keys_not_kept: outcome.keys_not_kept } : {};
  const next = JSON.stringify(outcome.document);
  const writes = { [K_MANAGED_IDS]: outcome.managed_ids };
  if (next !== current) {
    // Stored meanwhile by another writer (a page writing storage directly, e.g. while this worker
    // started): theirs wins; ours was computed from what they replaced.
    const now = (await ext.storage.local.get(K_SETTINGS))[K_SETTINGS];
    if ((now === undefined ? '' : JSON.stringify(now)) !== current) return { saved: false, error: { field: '', message: t('worker_settings_changed') } };
    writes[K_SETTINGS] = outcome.document;
  }
  await ext.storage.local.set(writes);
  return { saved: true, view: outcome.public, ...notKept };
}

/** The effective settings under the current policy, stored if the policy changed them. */
function refresh() {
  return serial(async () => {
    // The stored document is read while the core starts (a worker's first message waits for both).
    const [s] = await Promise.all([state(), ready]);
    let outcome = core.settingsApply(s.stored, s.policy, s.previous);
    if (!outcome.ok) {
      // The stored document is unusable (e.g. written by an older build): fall back to the
      // defaults rather than leave the extension without settings.
      console.warn('understudy: stored settings refused:', outcome.error?.field, outcome.error?.message);
      outcome = core.settingsApply('', s.policy, s.previous);
      if (!outcome.ok) throw new Error(`${outcome.error.field}: ${outcome.error.message}`);
      return outcome.public;
    }
    // Written only when the policy changed something (a read stays a read).
    const same = JSON.stringify(outcome.document) === s.stored && JSON.stringify(outcome.managed_ids) === s.previous;
    if (!same) await commit(outcome, s.stored);
    return outcome.public;
  });
}

/** The toolbar button says when Understudy is paused (a failure badge on a tab still wins there). */
async function showPaused(paused) {
  const action = ext.action ?? ext.browserAction;
  if (!action) return;
  try {
    if (paused) {
      await action.setBadgeText({ text: PAUSED_BADGE });
      await action.setBadgeBackgroundColor({ color: '#6b7280' });
      await action.setTitle({ title: t('worker_title_paused') });
    } else {
      if ((await action.getBadgeText({})) === PAUSED_BADGE) await action.setBadgeText({ text: '' });
      await action.setTitle({ title: t('worker_title') });
    }
  } catch {}
}

// Our own pages only: core.js (SENDERS) refuses these from a content script before they get here.
onMessages(ext, ['settings.get', 'settings.save', 'settings.import', 'settings.reset', 'settings.export', 'settings.quick'], async (message) => {
  switch (message.type) {
    case 'settings.get':
      return refresh();
    case 'settings.export':
      return serial(async () => {
        const s = await state();
        return { text: core.settingsExport(s.stored, s.policy, s.previous, message.include_keys === true) };
      });
    case 'settings.quick':
      return serial(async () => {
        const s = await state();
        const current = core.settingsApply(s.stored, s.policy, s.previous);
        if (!current.ok) return { saved: false, error: current.error };
        const doc = structuredClone(current.public.settings);
        if (typeof message.paused === 'boolean') doc.paused = message.paused;
        if (typeof message.capture === 'boolean') doc.capture = { ...(doc.capture ?? {}), enabled: message.capture };
        if (typeof message.auto === 'boolean') {
          const auto = { ...(doc.auto_mode ?? {}), enabled: message.auto };
          if (message.auto && !AUTO_KINDS.some((k) => auto[k] === true)) Object.assign(auto, { service_down: true, capacity: true });
          doc.auto_mode = auto;
        }
        const outcome = core.settingsSave(JSON.stringify({ settings: doc, clear_keys: [] }), s.stored, s.policy, s.previous);
        return commit(outcome, s.stored);
      });
    case 'settings.save':
    case 'settings.import':
    case 'settings.reset':
      return serial(async () => {
        const s = await state();
        let outcome;
        if (message.type === 'settings.save') {
          const request = { settings: message.settings ?? {}, clear_keys: Array.isArray(message.clear_keys) ? message.clear_keys : [] };
          outcome = core.settingsSave(JSON.stringify(request), s.stored, s.policy, s.previous);
        } else if (message.type === 'settings.import') {
          if (typeof message.text !== 'string') return { saved: false, error: { field: '', message: t('worker_file_empty') } };
          outcome = core.settingsImport(message.text, s.stored, s.policy, s.previous);
        } else {
          outcome = core.settingsReset(s.policy);
        }
        return commit(outcome, s.stored);
      });
    default:
      throw new Error(`unknown settings message ${message.type}`);
  }
});

// What a content script on the chat page needs to know, and nothing more (no provider, no key).
// Every chat page asks this as it loads: it is read from the stored document (the effective one,
// the policy already applied; defaults filled in), never written back.
onMessages(ext, ['settings.page'], async () => {
  const stored = (await ext.storage.local.get(K_SETTINGS))[K_SETTINGS];
  let outcome = core.settingsApply(stored === undefined ? '' : JSON.stringify(stored), '{}', '[]');
  if (!outcome.ok) outcome = core.settingsApply('', '{}', '[]');
  const { paused, capture, auto_mode, answer_in } = outcome.public?.settings ?? {};
  return { paused, capture, auto_mode, answer_in };
});

// Chat pages follow what `settings.page` answers live (the pause switch above all): when a write
// changes it, every chat tab is sent `{type: 'settings.page.changed', value}` (same shape, no key).
const pageView = ({ paused, capture, auto_mode, answer_in } = {}) => ({ paused: paused === true, capture, auto_mode, answer_in });
const CHAT_PAGES = [...new Set((ext.runtime.getManifest().content_scripts ?? []).flatMap((c) => c.matches ?? []))];
ext.storage.onChanged.addListener((changes, area) => {
  const change = area === 'local' ? changes[K_SETTINGS] : null;
  if (!change) return;
  const value = pageView(change.newValue ?? {});
  if (JSON.stringify(value) === JSON.stringify(pageView(change.oldValue ?? {}))) return;
  ext.tabs.query({ url: CHAT_PAGES }).then((tabs) => {
    for (const tab of tabs) ext.tabs.sendMessage(tab.id, { type: 'settings.page.changed', value }).catch(() => {});
  }, () => {});
});

// A policy pushed or changed while the browser runs is applied at once.
ext.storage.onChanged.addListener((changes, area) => {
  if (area === 'managed') policyRead = null;
  if (area === 'managed') refresh().catch((e) => console.warn('understudy: policy not applied:', e?.message ?? e));
  if (area === 'local' && changes[K_SETTINGS]) {
    const was = changes[K_SETTINGS].oldValue?.paused === true;
    const now = changes[K_SETTINGS].newValue?.paused === true;
    if (was !== now) showPaused(now);
  }
});

ext.runtime.onStartup?.addListener(() => {
  refresh().then((view) => showPaused(view?.settings?.paused === true)).catch((e) => console.warn('understudy: settings not refreshed:', e?.message ?? e));
});

ext.runtime.onInstalled.addListener(({ reason }) => {
  refresh().catch((e) => console.warn('understudy: settings not refreshed:', e?.message ?? e));
  if (reason === 'install') ext.tabs.create({ url: ext.runtime.getURL(ONBOARDING) }).catch(() => {});
});
