// The first-run page (opened by the worker on install): says whether Chrome's on-device model is
// here, and fills in this extension's exact origin for Ollama. Words from the catalogue
// (extension/i18n/onboarding.json), in the browser's language; commands stay as they are.
import '../i18n.js';

const { t, localize, lang } = globalThis.understudyI18n;
const ext = globalThis.browser ?? globalThis.chrome;

document.documentElement.lang = lang();
localize();

// "Install Ollama, pull a model (<code>…</code>), and start it…": the command sits where the
// message's $1 is, as a code element (text only).
{
  const MARK = '\u2063';
  const code = document.getElementById('ollama-pull');
  const [before, after = ''] = t('onboarding_ollama_steps', MARK).split(MARK);
  document.getElementById('ollama-steps').replaceChildren(before, code, after);
}

document.getElementById('ollama-cmd').textContent = `OLLAMA_ORIGINS=${location.origin} ollama serve`;

async function builtIn() {
  const el = document.getElementById('builtin');
  const LM = globalThis.LanguageModel;
  let state = 'unavailable';
  try {
    if (LM?.availability) state = await LM.availability();
  } catch {}
  el.textContent = {
    available: () => t('onboarding_builtin_available'),
    downloadable: () => t('onboarding_builtin_downloadable'),
    downloading: () => t('onboarding_builtin_downloading'),
  }[state]?.() ?? t('onboarding_builtin_unavailable');
}
builtIn();

document.getElementById('open-options').addEventListener('click', (e) => {
  if (ext?.runtime?.openOptionsPage) {
    e.preventDefault();
    ext.runtime.openOptionsPage();
  }
});
