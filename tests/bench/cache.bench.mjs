// The conversation cache in headless Chromium, extension origin, real IndexedDB:
// - import_mb_per_s: a generated export of about 100 MB (3,300 conversations) imported into the empty
//   cache through the library's own import path (streamed chunks, merge, search index, one transaction
//   per chunk). A second generated export of 6,700 conversations then seeds the cache to 10,000
//   conversations / 200,000 messages for the other metrics.
// - cache_search_ms_p95: full-text queries over that cache (the core's index, in the page).
// - cache_open_library_ms: median time from navigation to the library's first screen of rows.
//   import_searchable_mb_per_s: the same bytes over the time until the search index covers them
//   and is saved (the index is built after the import's commits, from a queue).
// - cache_capture_ms_p95: one captured turn (the prompt and the answer as the core decoded them
//   from the page's stream), from its arrival in the service worker until its transaction committed (as the worker measures it); cache_capture_roundtrip_ms_p95 adds the
//   extension messaging both ways (sent from an extension page, answered after the commit).
// Where the time goes is printed on stderr: the import's stages (read, feed = parse in the core,
// store = merge and hand records to IndexedDB, commit = waiting for the browser, meta = relisting)
// and the capture's (queued, read, apply in the core, commit), medians.
import { launch, openExtensionPage } from '../e2e/browser.mjs';

const CONVERSATIONS = Number(process.env.CACHE_BENCH_CONVERSATIONS ?? 10000);
const MESSAGES = 20;

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

export async function run() {
  const browser = await launch();
  try {
    const page = await openExtensionPage(browser.context, 'www/library.html');
    await page.waitForSelector('body[data-search-ready="1"]', { timeout: 30000 });

    const importOne = (n, seed) => page.evaluate(async ([n, m, seed]) => {
      const lib = window.understudyLibrary;
      const text = lib.core.cacheGenerateExport(n, m, seed);
      const file = new File([text], 'conversations.json', { type: 'application/json' });
      const profile = {};
      const t0 = performance.now();
      const r = await lib.importFiles([file], { profile });
      await lib.index();
      const searchableMs = performance.now() - t0;
      return { bytes: r.bytes, ms: r.ms, searchableMs, profile, imported: r.imported, issues: r.issues.length };
    }, [n, MESSAGES, seed]);
    const first = Math.round(CONVERSATIONS * 0.33);
    const imported = await importOne(first, 42);
    const rest = await importOne(CONVERSATIONS - first, 43);
    if (imported.imported + rest.imported !== CONVERSATIONS || imported.issues || rest.issues) {
      throw new Error(`seeding failed: ${JSON.stringify([imported, rest])}`);
    }
    const mbPerS = imported.bytes / (1 << 20) / (imported.ms / 1000);
    const searchableMbPerS = imported.bytes / (1 << 20) / (imported.searchableMs / 1000);
    const stages = (p) => Object.entries(p).map(([k, v]) => (typeof v === 'number' ? `${k} ${v.toFixed(0)}` : `${k} (${stages(v)})`)).join(', ');
    console.error(`cache bench: imported ${(imported.bytes / (1 << 20)).toFixed(1)} MB in ${imported.ms.toFixed(0)} ms (${stages(imported.profile)} ms), searchable after ${imported.searchableMs.toFixed(0)} ms`);

    const search = await page.evaluate(async () => {
      const library = await window.understudyLibrary.index();
      const queries = ['garden', 'lifetime', 'migration result', 'gansha', 'vinalumlo', 'the', 'shatoren to', 'rust main',
        'ergil gilcormi', 'quoted', 'tag', 'lisbon', 'gan', 'mi', 'fennusto', 'namidorlo vin', 'logilren', 'osna pito',
        'result', 'instobel'];
      const times = [];
      for (let round = 0; round < 5; round++) {
        for (const q of queries) {
          const t0 = performance.now();
          library.search(q, 20);
          times.push(performance.now() - t0);
        }
      }
      return times;
    });

    await page.close();
    const opens = [];
    for (let i = 0; i < 7; i++) {
      const p = await openExtensionPage(browser.context, 'www/library.html');
      await p.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
      const ms = Number(await p.getAttribute('body', 'data-first-screen-ms'));
      const rows = await p.locator('#list .row').count();
      if (rows === 0) throw new Error('the first screen has no rows');
      opens.push(ms);
      await p.close();
    }

    const probe = await openExtensionPage(browser.context, 'www/popup.html');
    const captures = await probe.evaluate(async () => {
      const times = [];
      const trips = [];
      const stages = [];
      const conversation = 'bench-capture';
      // A turn as the core decodes it from the page's stream: the prompt, then the answer as it
      // grows (one capture per batch the page hands over), the last one finished.
      const user = { id: 'bench-u', author: { role: 'user' }, content: { content_type: 'text', parts: ['How fast is a capture?'] }, status: 'finished_successfully', create_time: 1 };
      const turn = (nodes) => ({ kind: 'turn', conversation_id: conversation, title: 'Capture speed', nodes, current: nodes.at(-1).message.id, pending: null });
      await chrome.runtime.sendMessage({ type: 'cache.capture', capture: turn([{ parent: null, message: user }]) });
      let text = '';
      for (let i = 0; i < 120; i++) {
        text += `word${i} `;
        const answer = { id: 'bench-a', author: { role: 'assistant' }, content: { content_type: 'text', parts: [text] }, status: i === 119 ? 'finished_successfully' : 'in_progress', create_time: 2, recipient: 'all', channel: 'final' };
        const capture = turn([{ parent: null, message: user }, { parent: 'bench-u', message: answer }]);
        const t0 = performance.now();
        const reply = await chrome.runtime.sendMessage({ type: 'cache.capture', capture, profile: true });
        trips.push(performance.now() - t0);
        if (!reply.ok) throw new Error(reply.error);
        times.push(reply.value.committed_ms);
        stages.push(reply.value.timing ?? {});
      }
      return { times: times.slice(20), trips: trips.slice(20), stages: stages.slice(20) };
    });
    await probe.close();
    const median = (k) => pct(captures.stages.map((s) => s[k] ?? 0), 50).toFixed(2);
    console.error(`cache bench: capture stages (median ms): queued ${median('queued')}, read ${median('read')}, apply ${median('apply')}, commit ${median('commit')}; committed_ms median ${pct(captures.times, 50).toFixed(2)}`);

    return [
      { name: 'cache_capture_ms_p95', value: pct(captures.times, 95), unit: 'ms', lower_is_better: true, peer: null },
      { name: 'cache_capture_roundtrip_ms_p95', value: pct(captures.trips, 95), unit: 'ms', lower_is_better: true, peer: null },
      { name: 'cache_search_ms_p95', value: pct(search, 95), unit: 'ms', lower_is_better: true, peer: null },
      { name: 'cache_open_library_ms', value: pct(opens, 50), unit: 'ms', lower_is_better: true, peer: null },
      { name: 'import_mb_per_s', value: mbPerS, unit: 'MB/s', lower_is_better: false, peer: null },
      { name: 'import_searchable_mb_per_s', value: searchableMbPerS, unit: 'MB/s', lower_is_better: false, peer: null },
    ];
  } finally {
    await browser.close();
  }
}
