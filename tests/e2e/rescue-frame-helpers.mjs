// The rescue frame (www/rescue-frame.html inside the notice), as a test reaches it: Playwright
// enters the cross-origin frame as the user's browser does; the page's own scripts cannot.
export const FRAME = '[data-testid="understudy-notice"] [data-testid="understudy-rescue-frame"]';
export const ANSWER = '[data-testid="understudy-answer"]';

/** The rescue frame of the notice on screen, once its controls are built. */
export async function rescueFrame(page, { timeout = 15000 } = {}) {
  const handle = await page.waitForSelector(FRAME, { timeout });
  const frame = await handle.contentFrame();
  if (!frame) throw new Error('the rescue frame has no content frame');
  await frame.waitForSelector('body[data-ready="true"]', { timeout });
  return frame;
}

/**
 * Clicks a control in the rescue frame as a person does: once the browser has seen it visible
 * long enough to accept a click (`data-armed`), with a real mouse click.
 */
export async function clickRescue(page, selector, { timeout = 15000 } = {}) {
  const frame = await rescueFrame(page, { timeout });
  await armed(frame, selector, { timeout });
  await frameSettled(page, { timeout });
  // Headless Chromium now and then routes a click on a freshly laid out out-of-process frame to the
  // embedding page (the frame's hit-test data lags its layout): the frame sees no pointer event at
  // all, and a person would click again. Only such a lost click is repeated; a click the frame
  // received and refused or ignored is the product's answer and stays as it is.
  const downs = () => frame.evaluate(() => {
    if (!('understudyTestDowns' in window)) {
      window.understudyTestDowns = 0;
      window.addEventListener('pointerdown', () => window.understudyTestDowns++, true);
    }
    return window.understudyTestDowns;
  });
  for (let attempt = 1; ; attempt++) {
    const before = await downs();
    await frame.click(selector);
    const reached = await frame.waitForFunction((n) => window.understudyTestDowns > n, before, { timeout: 1000 }).then(() => true, () => false);
    if (reached) break;
    if (attempt === 3) throw new Error(`three clicks on ${selector} never reached the rescue frame`);
    console.log(`# a click on ${selector} never reached the rescue frame (the browser gave it to the page); clicking again`);
  }
  return frame;
}

/**
 * Waits until the rescue frame stops moving in the page (the same box over 100 ms): Playwright's
 * own stability check sees the control within its frame, not the frame moving in the page (the
 * chat page lays out its turns; the notice moves with them), and a click then lands beside it.
 */
export async function frameSettled(page, { timeout = 15000 } = {}) {
  const end = Date.now() + timeout;
  let last = null;
  for (;;) {
    const box = await (await page.$(FRAME))?.boundingBox();
    const now = box ? `${Math.round(box.x)},${Math.round(box.y)},${Math.round(box.width)},${Math.round(box.height)}` : null;
    if (now && now === last) return;
    if (Date.now() > end) throw new Error(`the rescue frame kept moving (${now})`);
    last = now;
    await page.waitForTimeout(100);
  }
}

/** Brings a control of the frame into view (as a person scrolls to it) and waits until it is armed. */
export async function armed(frame, selector, { timeout = 15000 } = {}) {
  await frame.locator(selector).scrollIntoViewIfNeeded({ timeout });
  await frame.waitForSelector(`${selector}[data-armed="true"]`, { timeout });
}

/** The answer as the user sees it: {state, provider, auto, hidden, text, name, saved}, or null. */
export async function answerState(page) {
  const handle = await page.$(FRAME);
  const frame = await handle?.contentFrame();
  if (!frame) return null;
  return frame.evaluate((sel) => {
    const a = document.querySelector(sel);
    return a ? {
      state: a.dataset.state ?? null, provider: a.dataset.provider ?? null, auto: a.dataset.auto ?? null, hidden: a.hidden,
      text: a.querySelector('[data-testid="understudy-answer-body"]')?.textContent ?? '', name: a.querySelector('.name')?.textContent ?? '',
      saved: a.dataset.saved ?? null, status: document.querySelector('[data-testid="understudy-rescue-status"]')?.textContent ?? '',
    } : null;
  }, ANSWER);
}

/** Waits for the answer to reach one of `states`; returns answerState. */
export async function waitAnswer(page, states = ['done', 'error'], { timeout = 15000 } = {}) {
  const frame = await rescueFrame(page, { timeout });
  await frame.waitForFunction(([sel, s]) => s.includes(document.querySelector(sel)?.dataset.state), [ANSWER, states], { timeout });
  return answerState(page);
}
