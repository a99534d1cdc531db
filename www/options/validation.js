// What the options page adds to the core's validation: errors in the units a field is labelled in,
// in plain words and in the user's language, and the API key a hosted provider cannot work without.
// No DOM writes here. The core's field errors are English sentences; those it is known to write are
// rewritten from the message catalogue, any other is shown as it comes.
import '../../i18n.js';
import { needsKey } from './presets.js';

const { t, tp, number } = globalThis.understudyI18n;
const NUM = '(-?\\d+(?:\\.\\d+)?)';
// The core's names of kinds of value ("expected a whole number, found text").
const TYPES = {
  'a whole number': () => t('options_type_integer'),
  'a number': () => t('options_type_number'),
  text: () => t('options_type_string'),
  'true or false': () => t('options_type_boolean'),
  'a list': () => t('options_type_array'),
  'an object': () => t('options_type_object'),
  null: () => 'null',
};
const TYPE = Object.keys(TYPES).sort((a, b) => b.length - a.length).join('|');
const EXPECTED = new RegExp(`^expected ((?:${TYPE})(?: or (?:${TYPE}))*), found (${TYPE})$`);

/** "expected a whole number, found text" in the user's language. */
function expected(wanted, found) {
  const kinds = [...wanted.matchAll(new RegExp(TYPE, 'g'))].map((x) => TYPES[x[0]]());
  return t('options_err_expected', kinds.reduce((a, b) => t('options_or', a, b)), TYPES[found]());
}

/** `error.message` in the units of its field (`el`: seconds for a field scaled by 1000), plainly. */
export function inUnits(error, el) {
  const m = String(error?.message ?? '');
  const scale = Number(el?.dataset?.scale ?? 1);
  const seconds = scale === 1000;
  // A value of the field, in its unit and the user's number format.
  const value = (n) => (seconds ? tp('options_seconds', Number(n) / 1000) : number(Number(n)));
  let x;
  if ((x = new RegExp(`^${NUM} is below the minimum of ${NUM}$`).exec(m))) {
    return seconds ? t('options_err_too_short', value(x[1]), value(x[2])) : t('options_err_below_min', value(x[1]), value(x[2]));
  }
  if ((x = new RegExp(`^${NUM} is above the maximum of ${NUM}$`).exec(m))) {
    return seconds ? t('options_err_too_long', value(x[1]), value(x[2])) : t('options_err_above_max', value(x[1]), value(x[2]));
  }
  if ((x = new RegExp(`^must be at least ${NUM}\\s*ms$`).exec(m))) {
    return t('options_err_at_least', seconds ? value(x[1]) : `${number(Number(x[1]))} ms`);
  }
  if ((x = /^("(?:[^"\\]|\\.)*") is empty or has spaces$/.exec(m))) return x[1] === '""' ? t('options_err_empty') : t('options_err_spaces');
  if (m === 'must not be empty') return t('options_err_not_empty');
  if ((x = /^needs at least (\d+) characters$/.exec(m))) return t('options_err_min_chars', number(Number(x[1])));
  if ((x = /^is longer than (\d+) characters$/.exec(m))) return t('options_err_max_chars', number(Number(x[1])));
  if (m === 'is missing') return t('options_err_missing');
  if ((x = EXPECTED.exec(m))) return expected(x[1], x[2]);
  if (m === 'is set by your organisation and cannot be changed') return t('options_err_locked');
  if ((x = new RegExp(`^expected ((?:${TYPE})(?: or (?:${TYPE}))*)$`).exec(m))) {
    return t('options_err_expected_only', [...x[1].matchAll(new RegExp(TYPE, 'g'))].map((y) => TYPES[y[0]]()).reduce((a, b) => t('options_or', a, b)));
  }
  if ((x = /^the id ("(?:[^"\\]|\\.)*") is used twice$/.exec(m))) return t('options_err_id_twice', x[1]);
  if ((x = /^this is not valid JSON \((.*)\)$/s.exec(m))) return t('options_err_not_json', x[1]);
  if (m === 'the settings must be a JSON object') return t('options_err_not_object');
  if ((x = /^("(?:[^"\\]|\\.)*") is set by your organisation and cannot be removed$/.exec(m))) return t('options_err_locked_remove', x[1]);
  if ((x = /^(.*) is not one of the configured providers$/s.exec(m))) return t('options_err_not_configured', x[1]);
  if ((x = /^(.*) is not one of (.*)$/s.exec(m))) return t('options_err_not_one_of', x[1], x[2]);
  if ((x = /^has more than (\d+) entries$/.exec(m))) return t('options_err_entries_max', number(Number(x[1])));
  if ((x = /^the base URL ("(?:[^"\\]|\\.)*") is not valid: it must start with http:\/\/ or https:\/\/$/.exec(m))) return t('options_err_base_url_invalid', x[1]);
  if ((x = /^("(?:[^"\\]|\\.)*") must start with http:\/\/ or https:\/\/$/.exec(m))) return t('options_err_base_url', x[1]);
  // Not known: as the core wrote it (milliseconds still said in seconds where the field is).
  return seconds ? m.replace(/(\d+(?:\.\d+)?)\s*ms\b/g, (_, n) => value(n)) : m;
}

/**
 * The first enabled provider (not set by the organisation) that needs a key and has none saved or
 * typed: `{field, message}` at its key field, or null.
 */
export function keyError(draft, { hasKey, typed, locked }) {
  for (const [i, p] of (draft?.providers ?? []).entries()) {
    if (!p.enabled || locked(p.id) || !needsKey(p.config) || hasKey(p.id) || typed(p.id)) continue;
    return { field: `providers[${i}].config.api_key`, message: t('options_err_needs_key', p.label || p.id) };
  }
  return null;
}
