// A provider card's Test button: saves first when the page has unsaved changes, asks the worker
// (`providers.test`) and shows the outcome in plain words (presets.js `testWords`), kept per
// provider so a redrawn list shows it again. `ctx`: {dirty, save, draft, testResults}.
import '../../i18n.js';
import { testWords } from './presets.js';
import { showTestResult } from './cards.js';
import { $, announce, send } from './page.js';

const { t } = globalThis.understudyI18n;

export async function testProvider(id, card, ctx) {
  const parts = (li) => ({ out: li.querySelector('.test-result'), button: li.querySelector('.test') });
  let { out, button } = parts(card);
  out.className = 'test-result';
  out.textContent = t('options_testing');
  button.disabled = true;
  let text;
  let good = false;
  let cls = '';
  try {
    if (ctx.dirty()) {
      out.textContent = t('options_saving_testing');
      const saved = await ctx.save({ quiet: true });
      // Saving redraws the list: find this provider's card again.
      const li = $('providers').querySelector(`[data-id="${CSS.escape(id)}"]`);
      if (li) ({ out, button } = parts(li));
      if (!saved) throw new Error(t('options_fix_first'));
      out.textContent = t('options_testing');
      button.disabled = true;
    }
    const r = await send({ type: 'providers.test', provider: id });
    good = r.ok;
    cls = r.ok ? 'ok' : r.class;
    text = testWords(r, ctx.draft.providers.find((x) => x.id === id)?.config.kind);
  } catch (e) {
    cls = 'error';
    text = t('options_not_tested', e.message);
  }
  // The list may have been redrawn meanwhile (the saved settings coming back): the result is kept
  // per provider and shown on its current card.
  ctx.testResults.set(id, { text, cls, good });
  const li = $('providers').querySelector(`[data-id="${CSS.escape(id)}"]`);
  if (li) ({ out, button } = parts(li));
  showTestResult(out, ctx.testResults.get(id));
  button.disabled = false;
  announce(text);
}
