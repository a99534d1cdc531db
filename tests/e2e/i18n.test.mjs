// The user's language end to end: Chromium started in German (and once in Japanese) on the fake
// chatgpt.com. The in-page notice, the rescue frame inside it, the popup and the onboarding page
// speak the browser's language (the exact strings of extension/i18n/*.json), with `<html lang>` to
// match, and dates in the German way; names and what the page or the status page said stay as they
// came.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';
import { startFakeChatgpt } from './fake-chatgpt/server.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { configure, provider } from './fake-providers/harness.mjs';
import { feed, startFakeStatus } from './fake-status/server.mjs';
import { failAfterOneExchange, NOTICE, noticeKind, openChat } from './detect-helpers.mjs';
import { rescueFrame } from './rescue-frame-helpers.mjs';

const DAY = 86_400_000;
let site;
let fake;
let statusPage;
let browser;

before(async () => {
  site = await startFakeChatgpt();
  fake = await startFakeProviders();
  statusPage = await startFakeStatus();
  // An incident that began three days ago (and an hour, so "how long ago" rounds to 3 days).
  const began = new Date(Date.now() - 3 * DAY - 3_600_000).toISOString();
  statusPage.setFeed(feed({
    affected: [['Conversations', 'partial_outage']],
    incidents: [{
      name: 'Elevated error rates for ChatGPT conversations',
      status: 'identified',
      published_at: began,
      impact: 'partial_outage',
      components: ['Conversations'],
      updates: [{ message: 'We have identified the cause.', published_at: began }],
    }],
  }));
  browser = await launch({ lang: 'de', chatgptPort: site.port, hostRules: { 'status.openai.com': statusPage.port } });
});

after(async () => {
  await browser?.close();
  await fake?.close();
  await site?.close();
  await statusPage?.close();
});

/** A chat with one good exchange, then a prompt that fails with a 503 (ChatGPT is down). */
async function failedChat(context) {
  site.setMode({ mode: 'healthy' });
  const page = await openChat(context, 'https://chatgpt.com/');
  await failAfterOneExchange(page, site, { failure: { mode: 'status', status: 503, body: '{"detail":"Service Unavailable"}' } });
  return page;
}

/** The notice as the user reads it: its headline, what Understudy saw, Dismiss, its language. */
const noticeWords = (page) => page.evaluate((sel) => {
  const root = document.querySelector(sel)?.shadowRoot;
  const words = root?.querySelector('.words');
  return {
    headline: words?.firstChild?.nodeValue ?? null,
    seen: root?.querySelector('.what')?.textContent ?? null,
    dismiss: root?.querySelector('[data-testid="understudy-dismiss"]')?.textContent ?? null,
    lang: root?.querySelector('[role="status"]')?.getAttribute('lang') ?? null,
    frameTitle: root?.querySelector('[data-testid="understudy-rescue-frame"]')?.getAttribute('title') ?? null,
  };
}, NOTICE);

test('in German: the notice, the rescue frame, the popup and the onboarding page', async () => {
  const control = await openExtensionPage(browser.context, 'www/options.html');
  await control.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  await configure(control, [provider(fake, 'erster', 'openai'), provider(fake, 'zweiter', 'openai')]);

  const page = await failedChat(browser.context);
  assert.equal(await noticeKind(page), 'service_down');
  const notice = await noticeWords(page);
  assert.equal(notice.headline, 'ChatGPT ist ausgefallen.');
  assert.equal(notice.dismiss, 'Schließen');
  assert.equal(notice.lang, 'de');
  assert.match(notice.seen, /^Was Understudy gesehen hat: /);
  assert.equal(notice.frameTitle, 'Understudy: mit einem anderen Anbieter weitermachen');

  // The rescue frame: its own words in German, the provider's name as it is.
  const frame = await rescueFrame(page);
  const controls = await frame.evaluate(() => {
    const text = (id) => document.querySelector(`[data-testid="${id}"]`)?.textContent ?? null;
    return {
      lang: document.documentElement.lang,
      title: document.title,
      cont: text('understudy-continue'),
      providers: text('understudy-providers'),
      handoff: text('understudy-handoff'),
      cache: text('understudy-open-cache'),
      stop: text('understudy-stop'),
      copy: text('understudy-copy'),
      panel: text('understudy-open-panel'),
      answer: document.querySelector('[data-testid="understudy-answer"]')?.getAttribute('aria-label'),
    };
  });
  assert.deepEqual(controls, {
    lang: 'de',
    title: 'Understudy: mit einem anderen Anbieter weitermachen',
    cont: 'Mit erster (openai) fortfahren',
    providers: 'Andere Anbieter',
    handoff: 'Woanders fragen',
    cache: 'Meine gespeicherte Unterhaltung öffnen',
    stop: 'Stopp',
    copy: 'Kopieren',
    panel: 'Im Seitenbereich fortfahren',
    answer: 'Antwort eines anderen Anbieters',
  });
  // A click the page forged is refused, and the refusal is in German too.
  await frame.evaluate(() => document.querySelector('[data-testid="understudy-open-cache"]').click());
  assert.equal(await frame.textContent('[data-testid="understudy-rescue-status"]'),
    'Understudy hat nichts getan: kein Klick einer Person. Sehen Sie sich die Schaltfläche an und klicken Sie erneut.');

  // The popup: the failing tab, the switches, and the status page's incident with its start in
  // the German way ("04.12.2026, 09:12 (vor 3 Tagen)"); the incident's name stays as it came.
  const popup = await openExtensionPage(browser.context, 'www/popup.html');
  await popup.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  await popup.waitForSelector('#status-page .incident .began time', { timeout: 15000 });
  const seen = await popup.evaluate(() => {
    const text = (sel) => document.querySelector(sel)?.textContent ?? null;
    return {
      lang: document.documentElement.lang,
      status: text('#status'),
      switches: text('#switches-title'),
      pause: text('label[for="pause"]'),
      auto: text('label[for="auto"]'),
      autoNote: text('#auto-note'),
      tabs: text('#tabs-title'),
      tabKind: text('#tabs li[data-kind="service_down"] .kind'),
      since: document.querySelector('#tabs li[data-kind="service_down"] .small:last-child')?.textContent ?? null,
      name: text('.incident-name'),
      began: text('.incident .began'),
      time: text('.incident .began time'),
      recent: text('#timeline-title'),
      raised: text('#timeline li[data-type="raised"] .kind'),
      library: text('a[href="library.html"]'),
    };
  });
  assert.equal(seen.lang, 'de');
  assert.equal(seen.status, 'ChatGPT: Ausgefallen.');
  assert.equal(seen.switches, 'Schnellschalter');
  assert.equal(seen.pause, 'Understudy pausieren');
  assert.equal(seen.auto, 'Automatisch antworten');
  assert.match(seen.autoNote, /^Wenn eingeschaltet, macht es ohne Nachfrage woanders weiter bei: .+\. Die Arten wählen Sie in den Einstellungen\.$/);
  assert.equal(seen.tabs, 'ChatGPT auf diesem Computer');
  assert.equal(seen.tabKind, 'Ausgefallen');
  assert.match(seen.since, /^Seit \d{2}:\d{2}\. Gesehen: /);
  assert.equal(seen.name, 'Störung: Elevated error rates for ChatGPT conversations');
  assert.match(seen.time, /^\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2} \(vor 3 Tagen\)$/, 'a German date and time, and how long ago');
  assert.equal(seen.began, `Ursache erkannt · begann ${seen.time}`);
  assert.equal(seen.recent, 'Zuletzt');
  assert.match(seen.raised, /^\d{2}:\d{2}:\d{2} Ausgefallen$/);
  assert.equal(seen.library, 'Unterhaltungsbibliothek');

  const onboarding = await openExtensionPage(browser.context, 'www/onboarding.html');
  const welcome = await onboarding.evaluate(() => ({
    lang: document.documentElement.lang,
    title: document.title,
    h1: document.querySelector('h1').textContent,
    steps: document.getElementById('ollama-steps').textContent,
    code: document.querySelector('#ollama-steps code')?.textContent,
    choose: document.getElementById('open-options').textContent,
  }));
  assert.deepEqual(welcome, {
    lang: 'de',
    title: 'Willkommen bei Understudy',
    h1: 'Understudy ist bereit',
    steps: 'Installieren Sie Ollama, laden Sie ein Modell herunter (ollama pull llama3.2) und starten Sie Ollama so, dass es die Erweiterung zulässt:',
    code: 'ollama pull llama3.2',
    choose: 'Anbieter auswählen',
  });
  await Promise.all([onboarding.close(), popup.close(), page.close(), control.close()]);
});

test('in Japanese: the notice headline and Dismiss', async () => {
  const ja = await launch({ lang: 'ja', chatgptPort: site.port });
  try {
    const page = await failedChat(ja.context);
    assert.equal(await noticeKind(page), 'service_down');
    const notice = await noticeWords(page);
    assert.equal(notice.headline, 'ChatGPT がダウンしています。');
    assert.equal(notice.dismiss, '閉じる');
    assert.equal(notice.lang, 'ja');
  } finally {
    await ja.close();
  }
});
