// The message catalogue, assembled at build time (never shipped): `extension/i18n/<surface>.json`
// holds one surface's messages in every language, `{ "key": { "en": "…", "de": "…", …,
// "description"?: "for translators" } }`; the build writes `_locales/<lang>/messages.json` from
// them. The build fails on a message missing in a language, substitutions (`$1`…`$9`) that differ
// between languages, a stray `$` (write `$$` for a dollar sign), a key defined twice, a plural
// without its `_other` form, or a key the code uses that no surface defines.
import fs from 'node:fs';
import path from 'node:path';

export const LOCALES = ['en', 'de', 'es', 'fr', 'ja', 'zh_CN', 'pt_BR'];
const KEY = /^[A-Za-z0-9_@]+$/;

const subsOf = (m) => [...m.matchAll(/\$([1-9])/g)].map((x) => x[1]).sort().join(',');

/** `{ <lang>: { <key>: {message, description?} } }` from every surface file; throws what is wrong. */
export function readCatalogue(dir) {
  const problems = [];
  const out = Object.fromEntries(LOCALES.map((l) => [l, {}]));
  const owner = {};
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    let doc;
    try {
      doc = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    } catch (e) {
      problems.push(`${file}: ${e.message}`);
      continue;
    }
    for (const [key, entry] of Object.entries(doc)) {
      if (key.startsWith('//')) continue;
      const where = `${file}: ${key}`;
      if (!KEY.test(key)) problems.push(`${where}: a key is letters, digits, _ and @ only`);
      if (owner[key]) problems.push(`${where}: also defined in ${owner[key]}`);
      owner[key] = file;
      const en = entry?.en;
      if (typeof en !== 'string' || en === '') {
        problems.push(`${where}: no English text`);
        continue;
      }
      for (const lang of LOCALES) {
        const m = entry[lang];
        if (typeof m !== 'string' || m.trim() === '') {
          problems.push(`${where}: missing in ${lang}`);
          continue;
        }
        if (/\$(?![1-9$])/.test(m.replace(/\$\$/g, ''))) problems.push(`${where} (${lang}): a stray $ (write $$ for a dollar sign)`);
        // Plural forms may drop $1 (e.g. "one conversation"); other messages keep every substitution.
        const plural = /_(zero|one|two|few|many|other)$/.test(key);
        if (!plural && subsOf(m) !== subsOf(en)) problems.push(`${where} (${lang}): substitutions ${subsOf(m) || 'none'}, English has ${subsOf(en) || 'none'}`);
        out[lang][key] = entry.description && lang === 'en' ? { message: m, description: entry.description } : { message: m };
      }
    }
  }
  for (const key of Object.keys(owner)) {
    const m = /^(.*)_(zero|one|two|few|many)$/.exec(key);
    if (m && !owner[`${m[1]}_other`]) problems.push(`${owner[key]}: ${key} has no ${m[1]}_other`);
  }
  if (problems.length) throw new Error(`message catalogue:\n  ${problems.join('\n  ')}`);
  return out;
}

/** Keys the code uses (`t('k')`, `tp('k', …)`, `data-i18n="k"`, `data-i18n-attr`, `__MSG_k__`). */
export function usedKeys(files) {
  const used = new Map();
  const add = (k, f) => used.set(k, used.get(k) ?? f);
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    for (const m of text.matchAll(/\b(?:t|tp)\(\s*'([A-Za-z0-9_@]+)'/g)) add(m[1], f);
    for (const m of text.matchAll(/data-i18n="([A-Za-z0-9_@]+)"/g)) add(m[1], f);
    for (const m of text.matchAll(/data-i18n-attr="([^"]+)"/g)) {
      for (const pair of m[1].split(';')) add(pair.split(':')[1]?.trim() ?? '', f);
    }
    for (const m of text.matchAll(/__MSG_([A-Za-z0-9_@]+)__/g)) if (m[1] !== '@@extension_id') add(m[1], f);
  }
  return used;
}

/** Throws when the code uses a key no surface defines (a plural key counts by its `_other`). */
export function checkUsed(catalogue, files) {
  const en = catalogue.en;
  const missing = [...usedKeys(files)].filter(([k]) => !en[k] && !en[`${k}_other`]).map(([k, f]) => `${k} (${f})`);
  if (missing.length) throw new Error(`message catalogue: used but not defined:\n  ${missing.join('\n  ')}`);
}
