// The options page's knowledge of providers: the presets offered by "Add a provider", which kinds
// need a key, and what a test's or a model list's outcome means, in plain words. No DOM here.

export const OPENAI = 'open_ai_compatible';

/**
 * Presets: choosing one fills the base URL and a sensible model. `base_url: ''` leaves the address to
 * the user (an organisation's gateway), with `placeholder` as the example shown in the field.
 */
export const PRESETS = [
  { group: 'Services', name: 'OpenAI', kind: OPENAI, id: 'openai', base_url: 'https://api.openai.com/v1', model: 'gpt-4o-mini' },
  { group: 'Services', name: 'Anthropic', kind: 'anthropic', id: 'anthropic', base_url: 'https://api.anthropic.com/v1', model: 'claude-3-5-haiku-latest' },
  { group: 'Services', name: 'Google Gemini', kind: 'gemini', id: 'gemini', base_url: 'https://generativelanguage.googleapis.com/v1beta', model: 'gemini-2.0-flash' },
  { group: 'Services', name: 'OpenRouter', kind: OPENAI, id: 'openrouter', base_url: 'https://openrouter.ai/api/v1', model: 'openai/gpt-4o-mini' },
  { group: 'Services', name: 'Groq', kind: OPENAI, id: 'groq', base_url: 'https://api.groq.com/openai/v1', model: 'llama-3.3-70b-versatile' },
  { group: 'Services', name: 'Mistral', kind: OPENAI, id: 'mistral', base_url: 'https://api.mistral.ai/v1', model: 'mistral-small-latest' },
  { group: 'Services', name: 'DeepSeek', kind: OPENAI, id: 'deepseek', base_url: 'https://api.deepseek.com/v1', model: 'deepseek-chat' },
  { group: 'Services', name: 'xAI', kind: OPENAI, id: 'xai', base_url: 'https://api.x.ai/v1', model: 'grok-3-mini' },
  { group: 'Services', name: 'Together', kind: OPENAI, id: 'together', base_url: 'https://api.together.xyz/v1', model: 'meta-llama/Llama-3.3-70B-Instruct-Turbo' },
  { group: 'Gateways', name: "LiteLLM gateway (your organisation's)", kind: OPENAI, id: 'litellm', base_url: '', placeholder: 'http://localhost:4000', model: '' },
  { group: 'Gateways', name: 'Portkey gateway', kind: OPENAI, id: 'portkey', base_url: '', placeholder: 'https://api.portkey.ai/v1', model: '' },
  { group: 'Gateways', name: 'Another OpenAI-compatible API', kind: OPENAI, id: 'gateway', base_url: '', placeholder: 'https://…/v1', model: '' },
  { group: 'On this computer', name: 'Ollama', kind: 'ollama', id: 'ollama', base_url: 'http://localhost:11434', model: 'llama3.2', local: true },
  { group: 'On this computer', name: 'LM Studio', kind: OPENAI, id: 'lmstudio', base_url: 'http://localhost:1234/v1', model: 'local-model', local: true },
  { group: 'On this computer', name: 'llama.cpp server', kind: OPENAI, id: 'llamacpp', base_url: 'http://localhost:8080/v1', model: 'local-model', local: true },
  { group: 'On this computer', name: 'vLLM', kind: OPENAI, id: 'vllm', base_url: 'http://localhost:8000/v1', model: 'served-model', local: true },
  { group: 'On this computer', name: 'Chrome on-device model', kind: 'chrome_built_in', id: 'chrome-builtin', base_url: '', model: 'gemini-nano', local: true },
];

export const KIND_NAMES = {
  open_ai_compatible: 'OpenAI-compatible',
  open_ai_responses: 'OpenAI Responses',
  anthropic: 'Anthropic',
  gemini: 'Gemini',
  ollama: 'Ollama',
  chrome_built_in: 'On-device',
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

const clock = (ms) => new Date(Date.now() + ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** What a test's outcome (`providers.test`'s answer) means, in one or two plain sentences. */
export function testWords(r, kind) {
  if (r.ok) {
    const said = r.text?.trim() ? ` It said “${r.text.trim().slice(0, 60)}”.` : '';
    return `✓ Works: answered in ${r.first_byte_ms ?? r.total_ms} ms.${said}`;
  }
  const detail = r.message ? ` (${r.message})` : '';
  switch (r.class) {
    case 'auth':
      return `✗ Key rejected: the provider refused the API key. Check the key (and that it may use this model), then test again.${detail}`;
    case 'rate_limited':
      return r.retry_after_ms != null
        ? `✗ Rate limited until ${clock(r.retry_after_ms)}: the provider refuses more requests from this key until then.${detail}`
        : `✗ Rate limited: the provider refuses more requests from this key for now. Try again in a minute.${detail}`;
    case 'quota_exhausted':
      return `✗ No credit or quota left on this account.${detail}`;
    case 'not_found':
      return kind === 'chrome_built_in'
        ? `✗ Not available in this browser.${detail}`
        : `✗ Model not found: check the model name (the list under the Model field) and the base URL.${detail}`;
    case 'origin_not_allowed':
      return `✗ Refused by the server's origin check (CORS). For Ollama, start it with OLLAMA_ORIGINS=chrome-extension://*,moz-extension://* and test again.${detail}`;
    case 'network':
      return `✗ Unreachable: check the base URL and that the server is running.${detail}`;
    case 'timeout':
      return `✗ No answer in time: the server may be overloaded, or the base URL points somewhere that never answers.${detail}`;
    case 'server':
      return `✗ The provider had a server error. Try again later.${detail}`;
    case 'overloaded':
      return `✗ The provider is overloaded. Try again later.${detail}`;
    case 'bad_request':
      return `✗ The provider refused the request; its reason: ${r.message ?? 'none given'}. Check the model name and the key.`;
    default:
      return `✗ Failed.${detail}`;
  }
}
