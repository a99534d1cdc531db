// Options page entry point: thin glue over the Wasm core.
import init, { coreVersion } from '../pkg/understudy.js';

const version = document.getElementById('version');
try {
  await init({ module_or_path: new URL('../pkg/understudy_bg.wasm', import.meta.url) });
  version.textContent = `Understudy core ${coreVersion()}`;
} catch (error) {
  version.textContent = `The core could not start: ${error?.message ?? error}`;
  version.classList.add('error');
}
