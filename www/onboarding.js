// The first-run page (opened by the worker on install): says whether Chrome's on-device model is
// here, and fills in this extension's exact origin for Ollama.
const ext = globalThis.browser ?? globalThis.chrome;

document.getElementById('ollama-cmd').textContent = `OLLAMA_ORIGINS=${location.origin} ollama serve`;

async function builtIn() {
  const el = document.getElementById('builtin');
  const LM = globalThis.LanguageModel;
  let state = 'unavailable';
  try {
    if (LM?.availability) state = await LM.availability();
  } catch {}
  el.textContent = {
    available: 'This browser has it: Understudy uses it by default, nothing leaves your computer.',
    downloadable: 'This browser can download it (about 2 GB) the first time it is used.',
    downloading: 'This browser is downloading it now.',
  }[state] ?? 'This browser does not have it (it needs a recent Chrome on a capable computer).';
}
builtIn();

document.getElementById('open-options').addEventListener('click', (e) => {
  if (ext?.runtime?.openOptionsPage) {
    e.preventDefault();
    ext.runtime.openOptionsPage();
  }
});
