// The library and the service worker in German: Chromium started with --lang=de shows the library's
// heading, search box, an import's outcome (German plurals) and the conversations' dates as German
// writes them; a provider failure reaches the side panel in the worker's German words.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';
import { library } from './cache-helpers.mjs';
import { startFakeProviders } from './fake-providers/server.mjs';
import { ask, configure, openPanel, provider } from './fake-providers/harness.mjs';

let browser;
let fake;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'understudy-i18n-library-'));

before(async () => {
  fake = await startFakeProviders();
  browser = await launch({ lang: 'de' });
});

after(async () => {
  await browser?.close();
  await fake?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('the library speaks German: heading, search box, an import with German plurals and German dates', async () => {
  const lib = await library(browser.context);
  assert.equal(await lib.evaluate(() => chrome.i18n.getUILanguage()), 'de');
  assert.equal(await lib.title(), 'Understudy-Bibliothek');
  assert.equal(await lib.textContent('h1'), 'Bibliothek');
  assert.equal(await lib.getAttribute('#search', 'placeholder'), 'Alle Unterhaltungen durchsuchen  ( / )');
  assert.equal(await lib.getAttribute('#search', 'aria-label'), 'Unterhaltungen durchsuchen');
  assert.equal(await lib.textContent('#export-all'), 'Alle exportieren');
  assert.equal(await lib.textContent('#empty-view'), 'Wählen Sie eine Unterhaltung.');
  assert.equal(await lib.evaluate(() => document.documentElement.lang), 'de');

  // 40 generated conversations and one malformed entry: "40 Unterhaltungen …; 1 fehlerhafter Eintrag …".
  const generated = await lib.evaluate(() => window.understudyLibrary.core.cacheGenerateExport(40, 6, 11));
  const original = JSON.parse(generated);
  const file = path.join(tmp, 'conversations.json');
  fs.writeFileSync(file, `${generated.slice(0, -1)}, {"title": 5, "mapping": 7}]`);
  await lib.setInputFiles('#import-file', file);
  await lib.waitForFunction(() => /Unterhaltungen importiert/.test(document.getElementById('import-status').textContent), null, { timeout: 30000 });
  assert.equal(await lib.textContent('#import-status'), '40 Unterhaltungen importiert; 1 fehlerhafter Eintrag übersprungen.');
  assert.match(await lib.textContent('#banner'), /^1 fehlerhafter Eintrag übersprungen: #40/);
  assert.equal(await lib.textContent('#count'), '40 Unterhaltungen gespeichert');

  // The newest conversation's row: its date and time as German writes them, its messages counted in German.
  const newest = original.reduce((a, b) => ((b.update_time ?? 0) > (a.update_time ?? 0) ? b : a));
  const when = new Intl.DateTimeFormat('de', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(newest.update_time * 1000));
  assert.match(when, /^\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}$/, 'German writes 16.11.2023, 13:25');
  const sub = await lib.textContent(`.row[data-id="${newest.id}"] .sub`);
  assert.ok(sub.startsWith(`${when} · `), sub);
  assert.match(sub, / · \d+ Nachrichten$/);

  // The opened conversation: its buttons and its date in German.
  await lib.click(`.row[data-id="${newest.id}"]`);
  await lib.waitForSelector('[data-testid="understudy-library-title"]');
  assert.equal(await lib.textContent('[data-testid="understudy-library-continue"]'), 'Mit einem anderen Anbieter fortfahren');
  assert.equal(await lib.textContent('[data-testid="understudy-library-delete"]'), 'Löschen');
  assert.ok((await lib.textContent('#view > p.muted')).startsWith(when));

  // A search: its count in German (plural and singular).
  await lib.evaluate(() => window.understudyLibrary.index());
  await lib.fill('#search', 'zzzz-no-such-word');
  await lib.waitForFunction(() => /Ergebnisse$/.test(document.getElementById('count').textContent));
  assert.equal(await lib.textContent('#count'), '0 Ergebnisse');
  await lib.close();
});

test('a provider that rejects the key: the worker says so in German in the side panel', async () => {
  const control = await openExtensionPage(browser.context, 'www/options.html');
  const name = 'de-refused';
  fake.plan(name, [{ fault: '401', tokenDelayMs: 2 }]);
  await configure(control, [provider(fake, name, 'openai')]);
  const panel = await openPanel(browser.context);
  const seen = await ask(panel, 'Behalten Sie diese Frage');
  assert.equal(seen.state, 'error');
  // The worker's sentence for the class, naming the provider, then the core's English as the detail.
  assert.match(seen.error, /Kein Anbieter konnte antworten\./, seen.error);
  assert.match(seen.error, new RegExp(`${name} \\(openai\\): ${name} \\(openai\\) hat den API-Schlüssel abgelehnt\\. Prüfen Sie den Schlüssel in den Anbietereinstellungen\\. \\(Details: `), seen.error);
  await panel.close();
  await control.close();
});
