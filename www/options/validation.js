// What the options page adds to the core's validation: errors in the units a field is labelled in,
// in plain words, and the API key a hosted provider cannot work without. No DOM writes here.
import { needsKey } from './presets.js';

/** `error.message` in the units of its field (`el`: seconds for a field scaled by 1000), plainly. */
export function inUnits(error, el) {
  let m = String(error?.message ?? '');
  const scale = Number(el?.dataset?.scale ?? 1);
  if (scale === 1000) {
    const s = (n) => `${Number(n) / 1000} seconds`;
    m = m
      .replace(/^(\d+(?:\.\d+)?) is below the minimum of (\d+(?:\.\d+)?)$/, (_, a, b) => `${s(a)} is too short: at least ${s(b)}`)
      .replace(/^(\d+(?:\.\d+)?) is above the maximum of (\d+(?:\.\d+)?)$/, (_, a, b) => `${s(a)} is too long: at most ${s(b)}`)
      .replace(/(\d+(?:\.\d+)?)\s*ms\b/g, (_, n) => s(n));
  }
  const blank = /^("(?:[^"\\]|\\.)*") is empty or has spaces$/.exec(m);
  if (blank) m = blank[1] === '""' ? 'is empty: type a value here' : 'must not contain spaces';
  return m;
}

/**
 * The first enabled provider (not set by the organisation) that needs a key and has none saved or
 * typed: `{field, message}` at its key field, or null.
 */
export function keyError(draft, { hasKey, typed, locked }) {
  for (const [i, p] of (draft?.providers ?? []).entries()) {
    if (!p.enabled || locked(p.id) || !needsKey(p.config) || hasKey(p.id) || typed(p.id)) continue;
    return { field: `providers[${i}].config.api_key`, message: `${p.label || p.id} needs an API key: paste it here (or turn the provider off)` };
  }
  return null;
}
