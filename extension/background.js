// The service worker (an event page in Firefox). Thin glue: every decision is made by the Wasm core.
// Listeners are registered synchronously at the top level; the worker keeps no state in globals
// that matters after it is stopped (it is stopped after 30 s idle).
import init, { handleMessage } from './pkg/understudy.js';
import { ext } from './api.js';

const ready = init({ module_or_path: new URL('./pkg/understudy_bg.wasm', import.meta.url) });

/** Answers one message with `{ok: true, value}` or `{ok: false, error}`; never throws. */
async function answer(message) {
  try {
    await ready;
    return { ok: true, value: handleMessage(message) };
  } catch (error) {
    return { ok: false, error: String(error?.message ?? error) };
  }
}

ext.runtime.onMessage.addListener((message, _sender, sendResponse) => {
  answer(message).then(sendResponse);
  return true; // the answer is sent asynchronously
});
