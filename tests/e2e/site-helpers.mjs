// What the end-to-end tests of the other chat sites (claude.test.mjs, deepseek.test.mjs, ...) share:
// their scaffolding (`siteSuite`), and what they read from the extension besides the notice: the
// detections the worker raised and the failed prompt it kept for the rescue (read from an extension
// page, as the popup would).
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';
import { NOTICE, noticeKind, noticeText, setTiming, timeline, waitObserved } from './detect-helpers.mjs';
import { startFakeFeed } from './fake-site/feed.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { configure, provider } from './fake-providers/harness.mjs';
import { answerState, clickRescue, rescueFrame, waitAnswer } from './rescue-frame-helpers.mjs';

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

/**
 * The scaffolding every chat site's test file shares, registered with node:test's before/after:
 * the site's fake (`start()`), its status feeds (`feeds`: startFakeFeed's arguments), the local
 * providers, Chromium with the extension and every host mapped to loopback, and the options page
 * (`control`) for `configure`. Returns the suite: `site`, `fake`, `browser`, `control` (set once
 * `before` ran) and
 * - `open(url = home)`: a tab on the site, once the content scripts started and were heard;
 * - `sendPrompt(page, text)`: types in `composer` and sends (`send`: the button, or 'Enter');
 * - `answers(page)`, `waitAnswerText(page, i, text)`: the answers (`answer`: their selector),
 *   and the wait for answer i (from 0) to read text (and, with `busy`, the page to be done);
 * - `failedChat(failure, {prompt, url})`: one good exchange (`first`: [prompt, answer]), then a
 *   prompt that fails as `failure` says (the fake's mode), with the notice shown;
 * - `failure()`: the worker's detection entry of the site's tab that failed last (by site: a page
 *   moves within its site without loading);
 * - `rescue({failure, answer, handoff})`: the rescue as the user sees it after a failed chat: the
 *   frame in the notice, "Ask elsewhere" without the failing site (`handoff`: its id there), the
 *   failed prompt kept by the worker, "Continue" streaming `answer` from a local provider that
 *   received the conversation and the failed prompt;
 * - `stalled(words)`: a failed chat whose answer stops mid-way (the fake's `stall` mode) under
 *   short stall timings: network_error, the notice's text matching `words`;
 * - `inLanguage({lang, failure, prompt, kind, words})`: a second browser in `lang`, a prompt that
 *   fails as `failure` says: the notice of `kind` in that language (`words`).
 */
export function siteSuite({ id, hosts, start, feeds = [], home, composer, send = 'Enter', answer, answerBody = null, busy = null, first, failing, afterFirst = null }) {
  const s = { site: null, fake: null, browser: null, control: null, feeds: [] };
  before(async () => {
    s.site = await start();
    s.feeds = await Promise.all(feeds.map((f) => startFakeFeed(f)));
    s.fake = await startFakeProviders();
    s.hostRules = Object.fromEntries(hosts.map((h) => [h, s.site.port]));
    feeds.forEach((f, i) => { s.hostRules[f.host] = s.feeds[i].port; });
    s.browser = await launch({ hostRules: s.hostRules });
    s.control = await openExtensionPage(s.browser.context, 'www/options.html');
  });
  after(async () => {
    await s.browser?.close();
    await s.fake?.close();
    await s.site?.close();
    for (const f of s.feeds) await f.close();
  });
  s.open = async (url = home) => {
    const page = await s.browser.context.newPage();
    await page.goto(url);
    await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
    await waitObserved(s.browser.context, page);
    return page;
  };
  s.sendPrompt = async (page, text) => {
    await page.fill(composer, text);
    if (send === 'Enter') await page.press(composer, 'Enter');
    else await page.click(send);
  };
  // An answer's text: the element's, or (with `answerBody`) its body's ('' when it has none yet).
  s.answers = (page) => page.evaluate(([sel, body]) => [...document.querySelectorAll(sel)]
    .map((a) => (body ? a.querySelector(body)?.textContent ?? '' : a.textContent)), [answer, answerBody]);
  s.waitAnswerText = (page, i, text) => page.waitForFunction(([sel, body, n, t, b]) => {
    const a = document.querySelectorAll(sel)[n];
    return (body ? a?.querySelector(body) : a)?.textContent === t && !(b && document.querySelector(b));
  }, [answer, answerBody, i, text, busy], { timeout: 15000 });
  s.failedChat = async (failure, { prompt = failing, url } = {}) => {
    s.site.setMode({ mode: 'healthy' });
    const page = await s.open(url);
    await s.sendPrompt(page, first[0]);
    await s.waitAnswerText(page, 0, first[1]);
    if (afterFirst) await afterFirst(page);
    await page.waitForTimeout(200);
    s.site.setMode(failure);
    await s.sendPrompt(page, prompt);
    await page.waitForSelector(NOTICE, { timeout: 15000 });
    return page;
  };
  s.failure = () => s.control.evaluate(async (site) => Object.entries(await chrome.storage.session.get(null))
    .filter(([k, v]) => k.startsWith('detect.tab.') && v?.site === site && v.current)
    .map(([, v]) => v)
    .sort((a, b) => b.updated_at - a.updated_at)[0] ?? null, id);
  s.rescue = async ({ failure, answer: text, handoff = id }) => {
    const name = `local-${id}`;
    s.fake.plan(name, [{ fault: 'ok', tokenDelayMs: 5, answer: text }]);
    await configure(s.control, [provider(s.fake, name, 'openai')]);
    const page = await s.failedChat(failure);
    const frame = await rescueFrame(page);
    const sites = await frame.evaluate(() => [...document.querySelectorAll('[data-testid="understudy-handoff-item"]')].map((b) => b.dataset.site));
    assert.ok(sites.length > 0, 'other sites are offered');
    assert.ok(!sites.includes(handoff), `${handoff} is not offered on its own site: ${sites}`);
    // The failed prompt the worker keeps (the core read it from the send's request).
    assert.equal((await s.failure())?.failed_prompt, failing);
    await clickRescue(page, '[data-testid="understudy-continue"]');
    const seen = await waitAnswer(page);
    assert.equal(seen.state, 'done', JSON.stringify(seen));
    assert.equal(seen.provider, name);
    assert.equal(seen.text.trim(), text);
    const [req] = s.fake.to(name);
    assert.deepEqual(req.json.messages, [
      { role: 'user', content: first[0] },
      { role: 'assistant', content: first[1] },
      { role: 'user', content: failing },
    ]);
    assert.equal((await answerState(page)).state, 'done');
    await page.close();
  };
  s.stalled = async (words) => {
    await setTiming(s.browser.context, { stall_ms: 1500, no_start_ms: 3000, resume_grace_ms: 0 });
    try {
      const page = await s.failedChat({ mode: 'stall', tokenDelayMs: 5 });
      assert.equal(await noticeKind(page), 'network_error');
      assert.match(await noticeText(page), words);
      await page.close();
    } finally {
      await setTiming(s.browser.context, null);
    }
  };
  s.inLanguage = async ({ lang, failure, prompt, kind, words }) => {
    const other = await launch({ hostRules: s.hostRules, lang });
    try {
      s.site.setMode({ mode: 'healthy' });
      const page = await other.context.newPage();
      await page.goto(home);
      await page.waitForSelector('html[data-understudy-core]', { timeout: 15000 });
      await waitObserved(other.context, page);
      s.site.setMode(failure);
      await s.sendPrompt(page, prompt);
      await page.waitForSelector(NOTICE, { timeout: 15000 });
      assert.equal(await noticeKind(page), kind);
      assert.match(await noticeText(page), words);
    } finally {
      await other.close();
    }
  };
  return s;
}
