// Service-worker side of the options page's model lists: `providers.models` asks a provider which
// models it serves, with the provider's key, which stays here (the page sends only a key the user
// has just typed, never receives one).
//   providers.models {provider?, kind, base_url, api_key?}
//     → {ok: true, models: [name]} | {ok: false, class, message}
// The stored key of `provider` is used only when kind and base URL are the stored ones (a key never
// goes to another address than the one it was saved for). Endpoints: OpenAI-compatible `GET
// {base}/models`, Anthropic `GET {base}/models`, Gemini `GET {base}/models`, Ollama `GET
// {base}/api/tags`. Extension pages only (core.js SENDERS).
import { ext } from '../api.js';
import { core, onMessages } from './core.js';
import { coreSentence, t } from './words.js';

const LIST_TIMEOUT_MS = 10_000;
const MAX_MODELS = 500;
const ANTHROPIC_VERSION = '2023-06-01';

function endpoint(kind, base, key) {
  const root = base.replace(/\/+$/, '');
  const headers = {};
  switch (kind) {
    case 'open_ai_compatible':
    case 'open_ai_responses':
      if (key) headers.authorization = `Bearer ${key}`;
      return { url: `${root}/models`, headers };
    case 'anthropic':
      if (key) headers['x-api-key'] = key;
      headers['anthropic-version'] = ANTHROPIC_VERSION;
      headers['anthropic-dangerous-direct-browser-access'] = 'true';
      return { url: `${root}/models?limit=1000`, headers };
    case 'gemini':
      if (key) headers['x-goog-api-key'] = key;
      return { url: `${root}/models?pageSize=1000`, headers };
    case 'ollama':
      return { url: `${root}/api/tags`, headers };
    default:
      return null;
  }
}

/** The model names of a list answer, each API's shape. */
function names(kind, body) {
  if (kind === 'gemini') {
    return (body?.models ?? [])
      .filter((m) => !Array.isArray(m?.supportedGenerationMethods) || m.supportedGenerationMethods.includes('generateContent'))
      .map((m) => String(m?.name ?? '').replace(/^models\//, ''));
  }
  if (kind === 'ollama') return (body?.models ?? []).map((m) => String(m?.name ?? m?.model ?? ''));
  return (body?.data ?? []).map((m) => String(m?.id ?? ''));
}

async function storedKey(id, kind, base) {
  const stored = (await ext.storage.local.get('settings')).settings;
  const entry = stored?.providers?.find((p) => p?.id === id);
  if (!entry || entry.config?.kind !== kind || entry.config?.base_url !== base) return null;
  return entry.config.api_key || null;
}

export async function listModels({ provider, kind, base_url: base, api_key: typed }) {
  if (typeof kind !== 'string' || typeof base !== 'string') return { ok: false, class: 'bad_request', message: t('worker_no_address') };
  try {
    const u = new URL(base);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
  } catch {
    return { ok: false, class: 'bad_request', message: t('worker_bad_base_url') };
  }
  const key = typeof typed === 'string' && typed.trim() ? typed.trim() : await storedKey(provider, kind, base);
  const spec = endpoint(kind, base, key);
  if (!spec) return { ok: false, class: 'bad_request', message: t('worker_no_model_list') };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), LIST_TIMEOUT_MS);
  let response;
  try {
    response = await fetch(spec.url, { headers: spec.headers, signal: controller.signal, cache: 'no-store', credentials: 'omit' });
    if (!response.ok) {
      const text = (await response.text().catch(() => '')).slice(0, 64 * 1024);
      const e = core.classifyHttpError(kind, response.status, [...response.headers], text);
      return { ok: false, class: e.class, message: coreSentence(e.class, e.message, kind, e.retry_after_ms), retry_after_ms: e.retry_after_ms ?? null };
    }
    const list = [...new Set(names(kind, await response.json()).filter(Boolean))].sort().slice(0, MAX_MODELS);
    return { ok: true, models: list };
  } catch (error) {
    if (controller.signal.aborted) return { ok: false, class: 'timeout', message: t('worker_why_no_answer_in_time') };
    return { ok: false, class: 'network', message: t('worker_could_not_reach', new URL(spec.url).origin, error?.message ?? error) };
  } finally {
    clearTimeout(timer);
  }
}

onMessages(ext, ['providers.models'], (message) => listModels(message));
