//# allFunctionsCalledOnLoad
// Content script: detect (isolated world). Plain JS, no Wasm, no secrets.
//
// Watches the chat page with one batched MutationObserver (extracting the DOM observation with
// UnderstudyObserve at most once per frame, and only when something error-like changed), hands the
// MAIN-world hook's facts about the page's own traffic (content/page-hook.js: window messages,
// treated as untrusted input) to UnderstudyTraffic (content/traffic.js: error statuses, the stall
// watch), and sends observations to the service worker, where the Wasm core judges them (how each
// answer stream ended it judges itself, from the bytes the capture hook hands over). It shows the
// in-page notice (content/notice.js). While Understudy is paused (UnderstudyPage.onPause) it does
// none of this: no observer, no timer, nothing sent, no notice; on resume it starts afresh.
//
// Stable hooks for other features (the rescue builds on these):
// - The notice (see content/notice.js): `[data-testid="understudy-notice"]` with `data-kind`.
// - `UnderstudyDetect` (a global of the extension's isolated world, shared with the other content
//   scripts): `current()`, `onChange(fn)` (fn(detection | null) on every change), `actions()` (the
//   actions container of the notice on screen, or null), `onNotice(fn)` (fn(actions, detection)
//   each time a notice is built), `turnEnded(end)` and `activity()` (from content/capture.js: how
//   the worker decoded a turn's end, and bytes of the page's streams it saw).
// - The service worker also sends `{type: 'detect.event', event, current}` to the tab.
const UnderstudyDetect = (() => {
  const ext = UnderstudyPage.ext;
  const HOOK = 'understudy-hook';
  const MIN_GAP_MS = 16; // at most one DOM extraction per frame under steady change
  const BURST = 4;
  const SAMPLE_MS = 500;
  const MAX_EARLY = 64;
  const MAX_PROMPT = 32768;
  const FACTS_PER_SECOND = 200;

  let adapter = null;
  let traffic = null; // UnderstudyTraffic for this page, once the adapter is known
  let hotSel = '';
  let regionSel = '';
  let current = null; // the detection in force, as the worker presents it
  let lastDomJson = '';
  let lastExtract = -Infinity;
  let extractTimer = 0;
  let burst = BURST;
  let observer = null;
  let sending = Promise.resolve();
  const early = []; // hook facts that arrived before the adapter
  const changeListeners = [];
  const noticeListeners = [];
  const cold = new WeakSet(); // elements known to sit outside every error-like region
  let bucket = FACTS_PER_SECOND;
  let bucketAt = 0;
  let paused = UnderstudyPage.paused();

  // ---- talking to the worker ----

  function lastUserText() {
    const sel = adapter?.selectors?.user_message;
    if (!sel) return null;
    try {
      const users = document.querySelectorAll(sel);
      const last = users[users.length - 1];
      return last ? (last.textContent || '').trim().slice(0, MAX_PROMPT) || null : null;
    } catch {
      return null;
    }
  }

  // The page as the worker last judged it healthy from a DOM observation with nothing wrong in it
  // (its URL), or ''. While nothing is wrong, another such observation of the same page would change
  // nothing in the worker (the answer growing, a turn added): it is not sent.
  let healthyAt = '';
  const noNews = (obs) => !current && benign(obs) && healthyAt === location.href;

  function send(observation) {
    if (paused) return sending;
    const message = { type: 'detect.observe', observation, prompt: traffic?.lastPrompt() ?? lastUserText(), url: location.href };
    const quiet = observation.type === 'dom' && benign(observation);
    healthyAt = '';
    sending = sending.then(async () => {
      try {
        const reply = await UnderstudyPage.request(message);
        if (reply?.ok) {
          apply(reply.value?.current ?? null);
          if (quiet && !current) healthyAt = message.url;
        }
      } catch {
        // the extension was reloaded or the worker is restarting; the next observation retries
      }
    });
    return sending;
  }

  ext.runtime.onMessage.addListener((message) => {
    if (message?.type === 'detect.event' && adapter && !paused) apply(message.current ?? null);
    return false;
  });

  // ---- DOM ----

  // While a send is in flight and no failure shows, a DOM observation with nothing wrong in it (the
  // turns the page adds, the answer growing) would change nothing in the worker: it is held back
  // and sent when the send is over (if no newer one replaced it).
  let held = null; // {obs, json}
  const benign = (o) => o.errors.length === 0 && !o.retry_button && !o.signed_out && !o.page_error;
  const sendInFlight = () => !!traffic?.sendInFlight();
  // Nothing error-like anywhere, on a page with its turns or composer (so no whole-page error):
  // an observation would be benign. Two queries instead of an extraction.
  const quietDom = () => {
    try {
      return document.querySelector(sampleSel) === null && document.querySelector(appSel) !== null;
    } catch {
      return false;
    }
  };
  function extractNow() {
    extractTimer = 0;
    lastExtract = performance.now();
    if (!adapter || paused || document.readyState === 'loading') return;
    // On a page the worker already judged healthy, a benign observation would change nothing (see
    // noNews): when the page is quiet it is not even taken.
    if (!current && healthyAt === location.href && quietDom()) {
      lastDomJson = '';
      held = null;
      return;
    }
    const obs = UnderstudyObserve.extract(document, adapter);
    const json = JSON.stringify(obs);
    if (json === lastDomJson || noNews(obs)) {
      lastDomJson = json;
      held = null;
      return;
    }
    if (!current && benign(obs) && sendInFlight()) {
      held = { obs, json };
      return;
    }
    held = null;
    lastDomJson = json;
    send(obs);
  }
  // A send is over: the observation held back goes out, unless an extraction is on its way.
  function release() {
    if (!held || extractTimer || sendInFlight()) return;
    if (noNews(held.obs)) {
      lastDomJson = held.json;
      held = null;
      return;
    }
    lastDomJson = held.json;
    send(held.obs);
    held = null;
  }

  // A small burst of extractions runs at once (an error right after another change is not delayed);
  // under a steady stream of changes they settle to one per frame.
  function schedule() {
    if (extractTimer) return;
    const now = performance.now();
    burst = Math.min(BURST, burst + (now - lastExtract) / MIN_GAP_MS);
    if (burst >= 1) {
      burst -= 1;
      extractNow();
    } else {
      extractTimer = setTimeout(extractNow, MIN_GAP_MS * (1 - burst));
    }
  }

  // While the page streams an answer (the hook says so), its thousands of text mutations are not
  // worth a callback each, nor even a record: the observer is disconnected, and every SAMPLE_MS one
  // querySelector looks for anything error-like (error boxes, alerts, banners, retry and login
  // buttons, an edge error page); only then, or while a failure shows, or when such an element
  // just went away, is the DOM extracted. The observer resumes when the last stream ends, with one
  // more sample at once (so an extraction then only if anything is error-like).
  let streams = 0;
  let sampler = 0;
  let sampleSel = '';
  let appSel = ''; // the app's turns and composer
  let sampledHot = false;
  const OBSERVE = {
    childList: true, subtree: true, characterData: true,
    attributes: true, attributeFilter: ['class', 'style', 'hidden', 'aria-hidden', 'open'],
  };
  function sample() {
    let hit = true;
    try { hit = document.querySelector(sampleSel) !== null; } catch { hit = true; }
    if (current || hit || sampledHot) schedule();
    sampledHot = hit;
  }
  function streamStarted() {
    streams += 1;
    if (streams !== 1 || !observer) return;
    observer.disconnect();
    sampledHot = false;
    sampler = setInterval(sample, SAMPLE_MS);
  }
  function streamEnded() {
    if (streams === 0) return;
    streams -= 1;
    if (streams !== 0 || !observer) return;
    clearInterval(sampler);
    sampler = 0;
    observer.observe(document, OBSERVE);
    sample(); // what changed since the last sample: extracted only if anything is error-like
  }

  const matches = (el, sel) => {
    try { return el.matches(sel); } catch { return false; }
  };
  const contains = (el, sel) => {
    try { return el.firstElementChild !== null && el.querySelector(sel) !== null; } catch { return false; }
  };
  // Whether an element (where text changed) sits inside an error-like region; cached when not.
  function inRegion(el) {
    if (!el || cold.has(el)) return false;
    let hit = false;
    try { hit = el.closest(regionSel) !== null; } catch { hit = false; }
    if (!hit) cold.add(el);
    return hit;
  }
  const isNotice = (n) => n.localName === 'understudy-notice';
  const ours = (r) => r.type === 'childList' && [...r.addedNodes].every(isNotice) && [...r.removedNodes].every(isNotice);
  const hotNode = (n) => n.nodeType === 1 && (matches(n, hotSel) || contains(n, hotSel));

  function hot(records) {
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const t = r.target;
      if (r.type === 'childList') {
        const quietTarget = cold.has(t);
        for (const list of [r.addedNodes, r.removedNodes]) {
          for (let j = 0; j < list.length; j++) {
            const n = list[j];
            if (n.nodeType === 1) {
              if (hotNode(n)) return true;
            } else if (!quietTarget && n.nodeType === 3 && inRegion(t)) {
              return true;
            }
          }
        }
      } else if (r.type === 'characterData') {
        if (inRegion(t.parentElement)) return true;
      } else if (t.nodeType === 1) {
        if (matches(t, hotSel) || inRegion(t)) return true;
        if (r.attributeName !== 'class' && contains(t, hotSel)) return true;
      }
    }
    return false;
  }

  function startObserving() {
    const s = adapter.selectors;
    regionSel = [s.error, s.toast, s.banner, s.dialog].filter(Boolean).join(', ');
    hotSel = [s.error, s.toast, s.banner, s.dialog, s.retry_button, s.login_button, s.turn, s.composer, s.cloudflare, s.challenge]
      .filter(Boolean).join(', ');
    sampleSel = [s.error, s.toast, s.banner, s.dialog, s.retry_button, s.login_button, s.cloudflare, s.challenge].filter(Boolean).join(', ');
    appSel = [s.turn, s.composer].filter(Boolean).join(', ');
    observer = new MutationObserver((records) => {
      // Our own notice coming or going says nothing about the page (and extracting then would
      // delay the notice's first frame).
      if (records.every(ours)) return;
      // While a failure is shown, any change may be the recovery; otherwise only error-like ones count.
      if (current || hot(records)) schedule();
    });
    observer.observe(document, OBSERVE);
    if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', schedule, { once: true });
    } else {
      schedule();
    }
    window.addEventListener('load', schedule, { once: true });
  }

  // ---- the notice ----

  function latestTurn() {
    const s = adapter?.selectors;
    if (!s?.turn) return null;
    try {
      const turns = document.querySelectorAll(s.turn);
      return turns[turns.length - 1] ?? null;
    } catch {
      return null;
    }
  }

  function safe(fn, ...args) {
    try { fn(...args); } catch (error) { console.warn('Understudy: a detection listener failed', error); }
  }

  const keyOf = (d) => `${d.kind}|${d.since_ms ?? ''}`;
  function apply(next) {
    const before = current ? keyOf(current) : '';
    current = next && next.kind !== 'healthy' ? next : null;
    if (current) healthyAt = '';
    if (current) {
      const built = UnderstudyNotice.show(current, latestTurn());
      if (built) for (const fn of noticeListeners) safe(fn, built, current);
    } else {
      UnderstudyNotice.hide();
    }
    if ((current ? keyOf(current) : '') !== before) for (const fn of changeListeners) safe(fn, current);
  }

  // ---- network facts from the MAIN world ----

  function allowFact() {
    const now = performance.now();
    bucket = Math.min(FACTS_PER_SECOND, bucket + ((now - bucketAt) * FACTS_PER_SECOND) / 1000);
    bucketAt = now;
    if (bucket < 1) return false;
    bucket -= 1;
    return true;
  }

  window.addEventListener('message', (event) => {
    if (paused || event.source !== window || event.origin !== location.origin) return;
    const data = event.data;
    if (!data || typeof data !== 'object' || data.source !== HOOK) return;
    if (!allowFact()) return;
    const fact = UnderstudyTraffic.validFact(data);
    if (!fact) return;
    if (!traffic) {
      if (early.length < MAX_EARLY) early.push(fact);
      return;
    }
    traffic.fact(fact);
  });

  // ---- start ----

  function newTraffic() {
    return UnderstudyTraffic.create(adapter, {
      send,
      failing: () => !!current,
      streamStarted,
      streamEnded,
      settled: release,
    });
  }


  UnderstudyPage.onReady(async (hello) => {
    if (!hello.site) return;
    let reply;
    try {
      reply = await ext.runtime.sendMessage({ type: 'detect.adapter' });
    } catch {
      return;
    }
    if (!reply?.ok || !reply.value?.selectors) return;
    adapter = reply.value;
    traffic = newTraffic();
    if (!paused) startObserving();
    for (const fact of early.splice(0)) traffic.fact(fact);
    UnderstudyNotice.prepareLater();
  });

  // ---- pause ----

  UnderstudyPage.onPause((p) => {
    paused = p;
    if (paused) {
      observer?.disconnect();
      clearInterval(sampler);
      clearTimeout(extractTimer);
      sampler = extractTimer = 0;
      streams = 0;
      traffic?.stop();
      early.length = 0;
      held = null;
      lastDomJson = '';
      healthyAt = '';
      UnderstudyNotice.reset();
      apply(null);
    } else if (adapter) {
      traffic = newTraffic();
      if (observer) {
        observer.observe(document, OBSERVE);
        schedule();
      } else {
        startObserving();
      }
    }
  });

  return {
    /** The detection in force on this page, or null. */
    current: () => current,
    /** The site's adapter (selectors, endpoints, timing), once the worker gave it; else null. */
    adapter: () => adapter,
    /** Calls fn(detection | null) whenever the detection in force changes. */
    onChange(fn) { changeListeners.push(fn); },
    /** The actions container of the notice on screen, or null. */
    actions: () => UnderstudyNotice.actions(),
    /** Calls fn(actionsContainer, detection) each time a notice is built (at once if one shows). */
    onNotice(fn) {
      noticeListeners.push(fn);
      const actions = UnderstudyNotice.actions();
      if (actions && current) safe(fn, actions, current);
    },
    /** How the worker decoded the end of the page's latest turn ('done', 'handoff', 'error', 'truncated'). */
    turnEnded(end) {
      if (!paused) traffic?.turnEnded(end);
    },
    /** Bytes of one of the page's answer streams arrived (as the capture hook saw them). */
    activity() {
      if (!paused) traffic?.activity();
    },
  };
})();
