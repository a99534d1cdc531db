// The model field's list of the provider's own models: asked of the worker (`providers.models`,
// which holds the keys) when the field is focused with a new address or key, offered as a
// <datalist>, with a plain message when the list cannot be had.
const WORDS = {
  auth: 'the provider refused the API key',
  rate_limited: 'the provider is rate-limiting this key',
  not_found: 'this address has no model list (check the base URL)',
  network: 'the server could not be reached (check the base URL)',
  timeout: 'the server did not answer in time',
  origin_not_allowed: 'the server refused the extension (for Ollama, set OLLAMA_ORIGINS)',
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
      hint.textContent = 'Paste the API key to choose from the provider’s models.';
      return;
    }
    const sig = JSON.stringify(message);
    if (sig === asked) return;
    asked = sig;
    hint.textContent = 'Asking the provider for its models…';
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
      hint.textContent = r.models.length ? `${r.models.length} model${r.models.length === 1 ? '' : 's'} offered by the provider: pick one or type a name.` : 'The provider lists no models: type the name.';
      hint.dataset.state = 'ok';
    } else {
      asked = ''; // ask again on the next focus
      hint.textContent = `Could not list the models: ${WORDS[r.class] ?? r.message ?? 'unknown error'}. You can still type the name.`;
      hint.dataset.state = 'error';
    }
  };
  input.addEventListener('focus', () => {
    fetchList();
  });
}
