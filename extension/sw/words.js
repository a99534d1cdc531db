// The service worker's user-visible texts in the user's language (extension/i18n/worker.json):
// the words a rescue uses to say why a provider did not answer, auto mode's refusals, the
// badges, and the sentences built from what the Rust core reports. The core speaks English and
// classifies (an error class, a refusal reason): the class picks the catalogue's sentence here,
// and in languages other than English the core's own sentence follows as the technical detail.
import '../i18n.js';

export const { t, tp } = globalThis.understudyI18n;
const english = () => /^en\b/i.test(globalThis.understudyI18n.lang());

/** Why a provider did not answer, in a few words, for an error class (or null). */
export function classWords(cls) {
  switch (cls) {
    case 'bad_request': return t('worker_why_bad_request');
    case 'context_length': return t('worker_why_context_length');
    case 'auth': return t('worker_why_auth');
    case 'origin_not_allowed': return t('worker_why_origin_not_allowed');
    case 'content_filter': return t('worker_why_content_filter');
    case 'not_found': return t('worker_why_not_found');
    case 'timeout': return t('worker_why_timeout');
    case 'conflict': return t('worker_why_conflict');
    case 'rate_limited': return t('worker_why_rate_limited');
    case 'quota_exhausted': return t('worker_why_quota_exhausted');
    case 'server': return t('worker_why_server');
    case 'overloaded': return t('worker_why_overloaded');
    case 'network': return t('worker_why_network');
    case 'malformed': return t('worker_why_malformed');
    default: return null;
  }
}

/** Why the router stepped around a provider, in a few words. */
export function skipWords(reason) {
  switch (reason) {
    case 'breaker_open': return t('worker_why_breaker_open');
    case 'probe_busy': return t('worker_why_probe_busy');
    case 'misconfigured': return t('worker_why_misconfigured');
    default: return t('worker_why_stepped_around');
  }
}

/** The catalogue's sentence for an error class, naming the provider (null for an unknown class). */
function classSentence(cls, name) {
  switch (cls) {
    case 'bad_request': return t('worker_err_bad_request', name);
    case 'context_length': return t('worker_err_context_length', name);
    case 'auth': return t('worker_err_auth', name);
    case 'origin_not_allowed': return t('worker_err_origin_not_allowed', name);
    case 'content_filter': return t('worker_err_content_filter', name);
    case 'not_found': return t('worker_err_not_found', name);
    case 'timeout': return t('worker_err_timeout', name);
    case 'conflict': return t('worker_err_conflict', name);
    case 'rate_limited': return t('worker_err_rate_limited', name);
    case 'quota_exhausted': return t('worker_err_quota_exhausted', name);
    case 'server': return t('worker_err_server', name);
    case 'overloaded': return t('worker_err_overloaded', name);
    case 'network': return t('worker_err_network', name);
    case 'malformed': return t('worker_err_malformed', name);
    default: return null;
  }
}

/**
 * A sentence the core wrote (English) about a failure of class `cls` from provider `name`, for the
 * user: in English the core's sentence as it is; in another language the catalogue's sentence for
 * the class (and the wait the provider asked for), then the core's sentence as the detail.
 */
export function coreSentence(cls, message, name, retryAfterMs = null) {
  const text = String(message ?? '');
  if (english()) return text;
  let lead = classSentence(cls, name || '—');
  if (!lead) return text;
  if (cls === 'rate_limited' && retryAfterMs > 0) lead += ` ${t('worker_wait_seconds', new Intl.NumberFormat(globalThis.understudyI18n.lang(), { maximumFractionDigits: 1 }).format(retryAfterMs / 1000))}`;
  return text ? t('worker_err_detail', lead, text) : lead;
}

/** In English the core's sentence as it is; in another language `lead`, then the core's sentence as the detail. */
export function withDetail(lead, message) {
  const text = String(message ?? '');
  return english() || !text ? text || lead : t('worker_err_detail', lead, text);
}

/** A failure kind's name as the popup says it ("At capacity"), or the kind itself when it has none. */
function kindName(kind) {
  if (!kind) return '';
  const key = `popup_kind_${kind}`;
  const name = t(key);
  return name === key ? String(kind) : name;
}

/** Auto mode's refusal by the core's AutoGuard (`{reason, in_force?}`), in words. */
export function refusalWords(verdict) {
  const count = /(\d+) times/.exec(verdict?.words ?? '')?.[1];
  switch (verdict?.refusal?.reason) {
    case 'not_in_force': return t('worker_auto_not_in_force');
    case 'other_kind': return t('worker_auto_other_kind', kindName(verdict.refusal.in_force));
    case 'episode_done': return t('worker_auto_episode_done');
    case 'tab_limit': if (count) return t('worker_auto_tab_limit', count); break;
    case 'browser_limit': if (count) return t('worker_auto_browser_limit', count); break;
    default: break;
  }
  return String(verdict?.words ?? '');
}

/** The core's note about turns left out to fit the context (buildRequest), in words. */
export function noteWords(note) {
  const m = /^(\d+) older turns? left out .*about (\d+) tokens/.exec(String(note ?? ''));
  return m ? tp('worker_note_dropped', Number(m[1]), globalThis.understudyI18n.number(Number(m[2]))) : String(note ?? '');
}

/** Why the core's capture budget refused a page's captures (without "capture refused: "). */
export function budgetWords(detail) {
  const text = String(detail ?? '');
  const bytes = /more than (\d+) MB of captures/.exec(text);
  if (bytes) return t('worker_budget_bytes', bytes[1]);
  const conversations = /more than (\d+) conversations/.exec(text);
  if (conversations) return t('worker_budget_conversations', conversations[1]);
  return text;
}

/** The toolbar badge for a failure kind (a few letters). */
export function badgeText(kind) {
  switch (kind) {
    case 'generation_error': return t('worker_badge_generation_error');
    case 'network_error': return t('worker_badge_network_error');
    case 'rate_limited': return t('worker_badge_rate_limited');
    case 'capacity': return t('worker_badge_capacity');
    case 'service_down': return t('worker_badge_service_down');
    case 'blocked': return t('worker_badge_blocked');
    case 'conversation_unavailable': return t('worker_badge_conversation_unavailable');
    case 'unknown_error': return t('worker_badge_unknown_error');
    case 'refused': return t('worker_badge_refused');
    case 'conversation_too_long': return t('worker_badge_conversation_too_long');
    default: return '';
  }
}
