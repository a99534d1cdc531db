// The options page's plumbing shared by its modules: the element by id, the worker's messages, the
// status line and the screen reader's announcements. Texts arrive already in the user's language.
import '../../i18n.js';

const { t } = globalThis.understudyI18n;
const ext = globalThis.browser ?? globalThis.chrome;

export const $ = (id) => document.getElementById(id);

/** Sends `message` to the service worker; resolves its `value`, rejects with its error. */
export function send(message) {
  return new Promise((resolve, reject) => {
    ext.runtime.sendMessage(message, (reply) => {
      const error = ext.runtime.lastError;
      if (error) return reject(new Error(error.message));
      if (!reply) return reject(new Error(t('options_no_answer')));
      if (!reply.ok) return reject(new Error(reply.error));
      resolve(reply.value);
    });
  });
}

export function setStatus(text, tone = '') {
  const s = $('status');
  s.textContent = text;
  s.className = `small ${tone}`;
}

export function announce(text) {
  const a = $('announce');
  a.textContent = '';
  // A fresh text node so screen readers announce a repeated message too.
  requestAnimationFrame(() => (a.textContent = text));
}
