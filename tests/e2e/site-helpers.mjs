// What the end-to-end tests of the other chat sites (deepseek.test.mjs, grok.test.mjs, ...) read
// from the extension besides the notice: the detections the worker raised and the failed prompt it
// kept for the rescue. Read from an extension page, as the popup would.
import { openExtensionPage } from './browser.mjs';
import { timeline } from './detect-helpers.mjs';

/** The latest detection raised (the worker's timeline): {kind, signal, evidence, ...}. */
export async function lastRaised(context) {
  return (await timeline(context)).filter((e) => e.type === 'raised').at(-1);
}

/**
 * The failed prompt the worker keeps with the detection in force of the `site` tab it judged last
 * (waits up to 5 s for it to be saved), or null.
 */
export async function keptPrompt(context, site) {
  const probe = await openExtensionPage(context, 'www/popup.html');
  try {
    const until = Date.now() + 5000;
    for (;;) {
      const prompt = await probe.evaluate(async (s) => Object.values(await chrome.storage.session.get(null))
        .filter((v) => v?.site === s && v.current)
        .sort((a, b) => b.updated_at - a.updated_at)[0]?.failed_prompt ?? null, site);
      if (prompt || Date.now() > until) return prompt;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await probe.close();
  }
}
