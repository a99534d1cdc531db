// Side panel entry point: thin glue over the Wasm core.
import init, { coreVersion } from '../pkg/understudy.js';

const status = document.getElementById('status');
try {
  await init({ module_or_path: new URL('../pkg/understudy_bg.wasm', import.meta.url) });
  status.textContent = `Ready (core ${coreVersion()}). When ChatGPT fails, the conversation continues here.`;
} catch (error) {
  status.textContent = `Understudy could not start: ${error?.message ?? error}`;
  status.classList.add('error');
}
