// sse_parse_mb_per_s: a 20 MB OpenAI Chat Completions stream → the assembled answer text, fed in
// 16 KB chunks across the JS/Wasm boundary exactly as the service worker does it
// (new StreamDecoder('openai-chat'), feed(Uint8Array) → text, finish()), in a real extension page
// of headless Chromium. Peer, same page and run: the npm package eventsource-parser + JSON.parse +
// join doing the same work (TextDecoder streaming, parse every event, pick the delta, join).
// Runs alternate; the median of each is reported.
import fs from 'node:fs';
import path from 'node:path';
import { launch, openExtensionPage } from '../e2e/browser.mjs';

const RUNS = 9;
const SIZE = 20 * 1024 * 1024;
const CHUNK = 16 * 1024;

export async function run({ root }) {
  const browser = await launch();
  try {
    const page = await openExtensionPage(browser.context, 'www/options.html');
    const peerSource = fs.readFileSync(path.join(root, 'node_modules', 'eventsource-parser', 'dist', 'index.cjs'), 'utf8');
    // DevTools evaluation is not bound by the page's CSP; the peer becomes a global.
    await page.evaluate(`(() => { const module = { exports: {} }; const exports = module.exports; ${peerSource}\n; globalThis.__peer = module.exports; })()`);
    const result = await page.evaluate(async ({ RUNS, SIZE, CHUNK }) => {
      const core = await import('../pkg/understudy_worker.js');
      await core.default({ module_or_path: new URL('../pkg/understudy_worker_bg.wasm', location.href) });
      // A realistic stream: OpenAI's chunk objects with short token deltas (some non-ASCII).
      const words = ['The', ' answer', ' is', ' streamed', ' token', ' by', ' token', ',', ' with', ' café', ' and', ' naïve', ' words', ' 🙂', '.\n'];
      const parts = [];
      let bytes = 0;
      let expected = '';
      const enc = new TextEncoder();
      for (let i = 0; bytes < SIZE; i++) {
        const w = words[i % words.length];
        const frame = `data: {"id":"chatcmpl-9xYz","object":"chat.completion.chunk","created":1718000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":{"content":${JSON.stringify(w)}},"logprobs":null,"finish_reason":null}]}\n\n`;
        parts.push(frame);
        expected += w;
        bytes += enc.encode(frame).length;
      }
      parts.push('data: {"id":"chatcmpl-9xYz","object":"chat.completion.chunk","created":1718000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n');
      const body = enc.encode(parts.join(''));
      const chunks = [];
      for (let i = 0; i < body.length; i += CHUNK) chunks.push(body.subarray(i, i + CHUNK));

      const ours = () => {
        const d = new core.StreamDecoder('openai-chat');
        const out = [];
        for (const c of chunks) {
          const t = d.feed(c);
          if (t) out.push(t);
        }
        const end = d.finish();
        d.free();
        if (end.text) out.push(end.text);
        if (end.outcome !== 'complete') throw new Error(`outcome ${end.outcome}`);
        return out.join('');
      };
      const peer = () => {
        const out = [];
        let done = false;
        const parser = globalThis.__peer.createParser({
          onEvent(e) {
            if (e.data === '[DONE]') {
              done = true;
              return;
            }
            const c = JSON.parse(e.data).choices?.[0]?.delta?.content;
            if (c) out.push(c);
          },
        });
        const td = new TextDecoder();
        for (const c of chunks) parser.feed(td.decode(c, { stream: true }));
        parser.feed(td.decode());
        if (!done) throw new Error('peer missed [DONE]');
        return out.join('');
      };
      const time = (fn) => {
        const t0 = performance.now();
        const text = fn();
        const ms = performance.now() - t0;
        if (text !== expected) throw new Error(`wrong text: ${text.length} vs ${expected.length}`);
        return ms;
      };
      time(ours);
      time(peer); // warm up both
      const a = [];
      const b = [];
      for (let i = 0; i < RUNS; i++) {
        a.push(time(ours));
        b.push(time(peer));
      }
      const median = (xs) => xs.slice().sort((x, y) => x - y)[Math.floor(xs.length / 2)];
      return { mb: body.length / (1024 * 1024), ours: median(a), peer: median(b) };
    }, { RUNS, SIZE, CHUNK });
    return [
      {
        name: 'sse_parse_mb_per_s',
        value: result.mb / (result.ours / 1000),
        unit: 'MB/s',
        lower_is_better: false,
        peer: { name: 'eventsource-parser + JSON.parse', value: result.mb / (result.peer / 1000) },
      },
    ];
  } finally {
    await browser.close();
  }
}
