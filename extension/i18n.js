// The user's language: every user-visible string goes through the extension's message catalogue
// (`_locales/<lang>/messages.json`, assembled by build.mjs from `extension/i18n/<surface>.json`).
// One file for every context: content scripts load it as a classic script (manifest), extension
// pages import it as a module; both read `globalThis.understudyI18n`. No DOM writes but
// `localize`, which sets text and attributes only (never markup).
//
//   t(key, ...subs)          the message, `$1`…`$9` replaced by subs (strings or numbers)
//   tp(key, n, ...subs)      plural: `key_one` / `key_few` / `key_many` / `key_other` as the
//                            language's rules choose for n (Intl.PluralRules), n as `$1`
//   localize(root)           `data-i18n="key"` → textContent; `data-i18n-attr="attr:key;attr:key"`
//   lang()                   the UI language (BCP 47, e.g. `de`, `pt-BR`)
//   date(ms), time(ms), dateTime(ms), relative(ms)   in the user's locale
//   number(n)
(() => {
  if (globalThis.understudyI18n) return;
  const api = globalThis.browser?.i18n ?? globalThis.chrome?.i18n;
  const uiLang = () => {
    try {
      return api?.getUILanguage?.() || navigator.language || 'en';
    } catch {
      return 'en';
    }
  };
  const raw = (key, subs) => {
    try {
      return api?.getMessage(key, subs) ?? '';
    } catch {
      return '';
    }
  };
  const strings = (subs) => subs.map((s) => String(s ?? ''));
  /** The message `key` with `$1`… replaced; the key itself when the catalogue lacks it (visible in tests). */
  function t(key, ...subs) {
    const m = raw(key, strings(subs));
    return m === '' ? key : m;
  }
  let rules = null;
  function tp(key, n, ...subs) {
    rules ??= new Intl.PluralRules(uiLang());
    const form = rules.select(Number(n));
    const all = strings([number(n), ...subs]);
    for (const f of [form, 'other']) {
      const m = raw(`${key}_${f}`, all);
      if (m !== '') return m;
    }
    return `${key}_other`;
  }
  function localize(root = document) {
    for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    for (const el of root.querySelectorAll('[data-i18n-attr]')) {
      for (const pair of el.dataset.i18nAttr.split(';')) {
        const [attr, key] = pair.split(':').map((s) => s.trim());
        if (attr && key) el.setAttribute(attr, t(key));
      }
    }
  }
  const fmt = (opts) => (ms) => {
    try {
      return new Intl.DateTimeFormat(uiLang(), opts).format(new Date(ms));
    } catch {
      return new Date(ms).toISOString();
    }
  };
  const date = fmt({ dateStyle: 'medium' });
  const time = fmt({ timeStyle: 'short' });
  const dateTime = fmt({ dateStyle: 'medium', timeStyle: 'short' });
  function relative(ms, now = Date.now()) {
    const s = Math.round((ms - now) / 1000);
    const rtf = new Intl.RelativeTimeFormat(uiLang(), { numeric: 'auto' });
    const abs = Math.abs(s);
    if (abs < 60) return rtf.format(s, 'second');
    if (abs < 3600) return rtf.format(Math.round(s / 60), 'minute');
    if (abs < 86400) return rtf.format(Math.round(s / 3600), 'hour');
    return rtf.format(Math.round(s / 86400), 'day');
  }
  function number(n) {
    try {
      return new Intl.NumberFormat(uiLang()).format(n);
    } catch {
      return String(n);
    }
  }
  globalThis.understudyI18n = Object.freeze({ t, tp, localize, lang: uiLang, date, time, dateTime, relative, number });
})();
