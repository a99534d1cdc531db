// The options page's knowledge of providers: the presets offered by "Add a provider", which kinds
// need a key, and what a test's or a model list's outcome means, in plain words, in the user's
// language (the message catalogue, extension/i18n/options.json). No DOM here.
import '../../i18n.js';

const { t, number, lang } = globalThis.understudyI18n;

export const OPENAI = 'open_ai_compatible';

/**
 * Presets: choosing one fills the base URL and a sensible model. `base_url: ''` leaves the address to
 * the user (an organisation's gateway), with `placeholder` as the example shown in the field.
 */
export const PRESETS = [
  { group: t('options_group_services'), name: 'OpenAI', kind: OPENAI, id: 'openai', base_url: 'https://api.openai.com/v1', model: 'gpt-4o-mini' },
  { group: t('options_group_services'), name: 'Anthropic', kind: 'anthropic', id: 'anthropic', base_url: 'https://api.anthropic.com/v1', model: 'claude-3-5-haiku-latest' },
  { group: t('options_group_services'), name: 'Google Gemini', kind: 'gemini', id: 'gemini', base_url: 'https://generativelanguage.googleapis.com/v1beta', model: 'gemini-2.0-flash' },
  { group: t('options_group_services'), name: 'OpenRouter', kind: OPENAI, id: 'openrouter', base_url: 'https://openrouter.ai/api/v1', model: 'openai/gpt-4o-mini' },
  { group: t('options_group_services'), name: 'Groq', kind: OPENAI, id: 'groq', base_url: 'https://api.groq.com/openai/v1', model: 'llama-3.3-70b-versatile' },
  { group: t('options_group_services'), name: 'Mistral', kind: OPENAI, id: 'mistral', base_url: 'https://api.mistral.ai/v1', model: 'mistral-small-latest' },
  { group: t('options_group_services'), name: 'DeepSeek', kind: OPENAI, id: 'deepseek', base_url: 'https://api.deepseek.com/v1', model: 'deepseek-chat' },
  { group: t('options_group_services'), name: 'xAI', kind: OPENAI, id: 'xai', base_url: 'https://api.x.ai/v1', model: 'grok-3-mini' },
  { group: t('options_group_services'), name: 'Together', kind: OPENAI, id: 'together', base_url: 'https://api.together.xyz/v1', model: 'meta-llama/Llama-3.3-70B-Instruct-Turbo' },
  { group: t('options_group_gateways'), name: t('options_preset_litellm'), kind: OPENAI, id: 'litellm', base_url: '', placeholder: 'http://localhost:4000', model: '' },
  { group: t('options_group_gateways'), name: t('options_preset_portkey'), kind: OPENAI, id: 'portkey', base_url: '', placeholder: 'https://api.portkey.ai/v1', model: '' },
  { group: t('options_group_gateways'), name: t('options_preset_gateway'), kind: OPENAI, id: 'gateway', base_url: '', placeholder: 'https://…/v1', model: '' },
  { group: t('options_group_local'), name: 'Ollama', kind: 'ollama', id: 'ollama', base_url: 'http://localhost:11434', model: 'llama3.2', local: true },
  { group: t('options_group_local'), name: 'LM Studio', kind: OPENAI, id: 'lmstudio', base_url: 'http://localhost:1234/v1', model: 'local-model', local: true },
  { group: t('options_group_local'), name: t('options_preset_llamacpp'), kind: OPENAI, id: 'llamacpp', base_url: 'http://localhost:8080/v1', model: 'local-model', local: true },
  { group: t('options_group_local'), name: 'vLLM', kind: OPENAI, id: 'vllm', base_url: 'http://localhost:8000/v1', model: 'served-model', local: true },
  { group: t('options_group_local'), name: t('options_preset_chrome'), kind: 'chrome_built_in', id: 'chrome-builtin', base_url: '', model: 'gemini-nano', local: true },
];

export const KIND_NAMES = {
  open_ai_compatible: t('options_kind_openai_compatible'),
  open_ai_responses: 'OpenAI Responses',
  anthropic: 'Anthropic',
  gemini: 'Gemini',
  ollama: 'Ollama',
  chrome_built_in: t('options_kind_on_device'),
};

const KEYED_KINDS = new Set(['open_ai_compatible', 'open_ai_responses', 'anthropic', 'gemini']);

/** Whether `url` points at this computer (or a private network), where servers often take no key. */
export function isLocal(url) {
  let host;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\./.test(host) || /^10\./.test(host)
    || /^192\.168\./.test(host) || /^172\.(1[6-9]|2\d|3[01])\./.test(host) || host.endsWith('.local');
}

/** Whether a provider with this config cannot work without a key (a hosted API). */
export const needsKey = (config) => KEYED_KINDS.has(config.kind) && !isLocal(config.base_url);
/** Whether the kind takes a key at all. */
export const takesKey = (kind) => KEYED_KINDS.has(kind);

const clock = (ms) => new Date(Date.now() + ms).toLocaleTimeString(lang(), { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** What a test's outcome (`providers.test`'s answer) means, in one or two plain sentences. */
export function testWords(r, kind) {
  if (r.ok) {
    const works = t('options_test_works', number(r.first_byte_ms ?? r.total_ms));
    return r.text?.trim() ? `${works} ${t('options_test_said', r.text.trim().slice(0, 60))}` : works;
  }
  const detail = r.message ? ` (${r.message})` : '';
  switch (r.class) {
    case 'auth':
      return `${t('options_test_auth')}${detail}`;
    case 'rate_limited':
      return r.retry_after_ms != null ? `${t('options_test_rate_until', clock(r.retry_after_ms))}${detail}` : `${t('options_test_rate')}${detail}`;
    case 'quota_exhausted':
      return `${t('options_test_quota')}${detail}`;
    case 'not_found':
      return kind === 'chrome_built_in' ? `${t('options_test_builtin_missing')}${detail}` : `${t('options_test_model_not_found')}${detail}`;
    case 'origin_not_allowed':
      return `${t('options_test_origin')}${detail}`;
    case 'network':
      return `${t('options_test_network')}${detail}`;
    case 'timeout':
      return `${t('options_test_timeout')}${detail}`;
    case 'server':
      return `${t('options_test_server')}${detail}`;
    case 'overloaded':
      return `${t('options_test_overloaded')}${detail}`;
    case 'bad_request':
      return t('options_test_bad_request', r.message ?? t('options_none_given'));
    default:
      return `${t('options_test_failed')}${detail}`;
  }
}
