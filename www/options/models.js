// The model field's list of the provider's own models: asked of the worker (`providers.models`,
// which holds the keys) when the field is focused with a new address or key, offered as a
// <datalist>, with a plain message when the list cannot be had.
import '../../i18n.js';

const { t, tp } = globalThis.understudyI18n;
const WORDS = {
  auth: () => t('options_models_auth'),
  rate_limited: () => t('options_models_rate_limited'),
  not_found: () => t('options_models_not_found'),
  network: () => t('options_models_network'),
  timeout: () => t('options_models_timeout'),
  origin_not_allowed: () => t('options_models_origin'),
};

/**
 * Gives `input` a model list. `request()` answers the `providers.models` message to send, or null
 * when a key is missing; `send(message)` sends it to the worker.
 */
export function attachModelList(input, { uid, request, send }) {
  let list = null;
  let hint = null;
  // Built on the first focus: a long list of providers carries no extra elements until then.
  const build = () => {
    const field = input.closest('.field');
    list = document.createElement('datalist');
    list.id = `${uid}-models`;
    hint = document.createElement('p');
    hint.className = 'hint model-hint';
    hint.id = `${uid}-models-hint`;
    hint.dataset.testid = 'model-hint';
    hint.setAttribute('aria-live', 'polite');
    field.append(list, hint);
    input.setAttribute('list', list.id);
    input.setAttribute('aria-describedby', hint.id);
  };
  let asked = '';
  const fetchList = async () => {
    if (!list) build();
    const message = request();
    if (!message) {
      hint.textContent = t('options_models_need_key');
      return;
    }
    const sig = JSON.stringify(message);
    if (sig === asked) return;
    asked = sig;
    hint.textContent = t('options_models_asking');
    delete hint.dataset.state;
    let r;
    try {
      r = await send(message);
    } catch (e) {
      r = { ok: false, class: 'error', message: e.message };
    }
    if (asked !== sig) return; // asked again meanwhile
    if (r.ok) {
      list.replaceChildren(...r.models.map((name) => Object.assign(document.createElement('option'), { value: name })));
      hint.textContent = r.models.length ? tp('options_models_offered', r.models.length) : t('options_models_none');
      hint.dataset.state = 'ok';
    } else {
      asked = ''; // ask again on the next focus
      hint.textContent = t('options_models_failed', WORDS[r.class]?.() ?? r.message ?? t('options_unknown_error'));
      hint.dataset.state = 'error';
    }
  };
  input.addEventListener('focus', () => {
    fetchList();
  });
}
