// The options page and the side panel in the user's language: Chromium started in German shows
// both pages in German (headings, buttons, a preset's name, a field error in the field's unit with
// German numbers, the side panel's labels and status), with <html lang> set; one heading in French.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openExtensionPage } from './browser.mjs';

let browser;

async function openReady(context, page) {
  const tab = await openExtensionPage(context, page);
  await tab.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  return tab;
}

before(async () => {
  browser = await launch({ lang: 'de' });
});

after(async () => {
  await browser?.close();
});

test('the options page in German', async () => {
  const page = await openReady(browser.context, 'www/options.html');
  assert.equal(await page.getAttribute('html', 'lang'), 'de');
  assert.equal(await page.title(), 'Understudy-Einstellungen');
  assert.equal(await page.textContent('h1'), 'Understudy-Einstellungen');
  assert.equal(await page.textContent('#providers-h'), 'Anbieter');
  assert.equal(await page.textContent('#timing-h'), 'Zeitpunkt des Wechsels');
  assert.equal(await page.textContent('[data-testid="save"]'), 'Änderungen speichern');
  assert.equal(await page.textContent('label[for="first-byte"]'), 'Auf eine erste Antwort warten (Sekunden)');
  assert.equal(await page.textContent('label[for="auto-service_down"]'), 'ChatGPT nicht erreichbar ist');
  // The provider card's template is localized too.
  assert.equal(await page.textContent('[data-testid="provider"] [data-testid="test"]'), 'Testen');
  assert.match(await page.getAttribute('[data-testid="provider"] [data-testid="remove"]', 'aria-label'), /^.+ entfernen$/);
  // A preset's name, in the menu and as the new provider's name; its key field asks in German.
  const groups = await page.$$eval('#add-kind optgroup', (els) => els.map((g) => g.label));
  assert.deepEqual(groups, ['Dienste', 'Gateways', 'Auf diesem Computer']);
  await page.selectOption('[data-testid="add-kind"]', { label: 'Andere OpenAI-kompatible API' });
  await page.click('[data-testid="add-provider"]');
  const gateway = '[data-testid="provider"][data-id="gateway"]';
  assert.equal(await page.textContent(`${gateway} .p-name`), 'Andere OpenAI-kompatible API');
  assert.equal(await page.textContent(`${gateway} .p-kind`), 'OpenAI-kompatibel');
  await page.waitForFunction(() => /hinzugefügt/.test(document.querySelector('[data-testid="announce"]').textContent));
  // A hosted provider without its key: the error at its key field, in German.
  await page.selectOption('[data-testid="add-kind"]', { label: 'OpenAI' });
  await page.click('[data-testid="add-provider"]');
  const openai = '[data-testid="provider"][data-id="openai"]';
  assert.equal(await page.getAttribute(`${openai} [data-testid="key"]`, 'placeholder'), 'API-Schlüssel einfügen (erforderlich)');
  await page.fill(`${gateway} [data-testid="base-url"]`, 'http://127.0.0.1:9/v1');
  await page.fill(`${gateway} [data-testid="model"]`, 'tiny-model');
  await page.click('[data-testid="save"]');
  await page.waitForSelector(`${openai} [data-testid="field-error"]`);
  assert.equal(await page.textContent(`${openai} [data-testid="field-error"]`), 'OpenAI braucht einen API-Schlüssel: Fügen Sie ihn hier ein (oder schalten Sie den Anbieter aus)');
  assert.equal(await page.textContent('[data-testid="status"]'), 'Korrigieren Sie das markierte Feld, um zu speichern.');
  await page.fill(`${openai} [data-testid="key"]`, 'sk-never-used');
  // A field in seconds: the error in seconds, with German numbers.
  await page.fill('#first-byte', '0.05');
  await page.waitForSelector('#first-byte[aria-invalid="true"]');
  const error = await page.textContent('.field [data-testid="field-error"]');
  assert.match(error, /mindestens 0,1 Sekunden/);
  assert.doesNotMatch(error, /seconds|ms\b/);
  await page.fill('#first-byte', '7.5');
  await page.fill('#retries', '12');
  await page.waitForFunction(() => /Maximum/.test(document.querySelector('.field [data-testid="field-error"]')?.textContent ?? ''));
  assert.equal(await page.textContent('.field [data-testid="field-error"]'), '12 liegt über dem Maximum von 10');
  await page.fill('#retries', '');
  await page.waitForFunction(() => /^Erwartet/.test(document.querySelector('.field [data-testid="field-error"]')?.textContent ?? ''));
  assert.equal(await page.textContent('.field [data-testid="field-error"]'), 'Erwartet: eine ganze Zahl, gefunden: Text');
  await page.click('[data-testid="discard"]');
  assert.equal(await page.textContent('[data-testid="status"]'), 'Änderungen verworfen.');
  await page.close();
});

test('the side panel in German', async () => {
  const panel = await openReady(browser.context, 'www/sidepanel.html');
  assert.equal(await panel.getAttribute('html', 'lang'), 'de');
  assert.equal(await panel.textContent('#chain-title'), 'Anbieter, in Reihenfolge');
  assert.equal(await panel.textContent('[data-testid="understudy-send"]'), 'Senden');
  assert.equal(await panel.textContent('label[for="prompt"]'), 'Ihre Nachricht');
  assert.equal(await panel.getAttribute('#prompt', 'placeholder'), 'Fragen Sie etwas. Enter sendet, Umschalt+Enter fügt eine Zeile ein.');
  assert.equal(await panel.getAttribute('#history', 'aria-label'), 'Unterhaltung');
  assert.match(await panel.textContent('#status'), /^Bereit \(Kern .+\)\. Wenn ChatGPT ausfällt, geht die Unterhaltung hier weiter\.$/);
  await panel.close();
});

test('the options page in French', async () => {
  const fr = await launch({ lang: 'fr' });
  try {
    const page = await openReady(fr.context, 'www/options.html');
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    assert.equal(await page.textContent('#providers-h'), 'Fournisseurs');
    assert.equal(await page.textContent('h1'), "Paramètres d'Understudy");
  } finally {
    await fr.close();
  }
});
