// What the load and fault tests share: the extension service worker's JS heap read through the
// DevTools protocol, a seeded random generator, and asks over the worker's `understudy-ask` port.
import { extensionId } from './browser.mjs';

/** A small seeded generator (mulberry32): the same faults in every run. */
export function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A DevTools session on the extension's service worker, reached from PAGE's session (Playwright
 * opens sessions on pages only): `heap({gc})` answers {used, total} in bytes, after a garbage
 * collection when `gc` is true; `wasm()` the bytes of its WebAssembly memories; `send(method,
 * params)` sends any command to the worker.
 */
export async function workerSession(context, page) {
  const cdp = await context.newCDPSession(page);
  const prefix = `chrome-extension://${extensionId()}/`;
  let seq = 0;
  let sessionId = null;
  const waiting = new Map();
  // Attaches to the extension's running service worker (again after Chrome replaced it: an MV3
  // worker may be stopped and started between two samples; its memory then starts afresh).
  async function attach() {
    const { targetInfos } = await cdp.send('Target.getTargets');
    const target = targetInfos.find((t) => t.type === 'service_worker' && t.url.startsWith(prefix));
    if (!target) throw new Error('no running service worker of the extension');
    ({ sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false }));
  }
  await attach();
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    if (e.sessionId !== sessionId) return;
    const m = JSON.parse(e.message);
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(m.error.message));
    else w.resolve(m.result);
  });
  const sendOnce = (method, params) => new Promise((resolve, reject) => {
    const id = ++seq;
    waiting.set(id, { resolve, reject });
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(reject);
  });
  const send = async (method, params = {}) => {
    try {
      return await sendOnce(method, params);
    } catch (e) {
      if (!/Cannot find context|No session|Session .*not found|Target closed/i.test(String(e?.message))) throw e;
      await attach();
      return sendOnce(method, params);
    }
  };
  const session = {
    send,
    /** The worker's memory: {js, wasm, total} bytes (JS heap used, after GC when `gc`; Wasm memories). */
    async memory({ gc = false } = {}) {
      const { used } = await session.heap({ gc });
      const wasm = await session.wasm();
      return { js: used, wasm, total: used + wasm };
    },
    async heap({ gc = false } = {}) {
      if (gc) await send('HeapProfiler.collectGarbage');
      const { usedSize, totalSize } = await send('Runtime.getHeapUsage');
      return { used: usedSize, total: totalSize };
    },
    /** Bytes of every WebAssembly memory the worker holds (the core's heap lives there, outside the JS heap). */
    async wasm() {
      // The objects it asks about belong to one run of the worker: stopped and started between two
      // of these calls, the later ones name objects that are gone; the whole reading starts again.
      for (let tries = 1; ; tries++) {
        try {
          return await session.wasmOnce();
        } catch (e) {
          if (tries >= 3 || !/Cannot find context|Could not find object|No session|Session .*not found|Target closed/i.test(String(e?.message))) throw e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    },
    async wasmOnce() {
      const proto = await send('Runtime.evaluate', { expression: 'WebAssembly.Memory.prototype' });
      const { objects } = await send('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId });
      const { result } = await send('Runtime.callFunctionOn', {
        objectId: objects.objectId,
        functionDeclaration: 'function () { return this.reduce((s, m) => s + m.buffer.byteLength, 0); }',
        returnByValue: true,
      });
      await send('Runtime.releaseObject', { objectId: objects.objectId }).catch(() => {});
      await send('Runtime.releaseObject', { objectId: proto.result.objectId }).catch(() => {});
      return result.value;
    },
    async close() {
      await cdp.send('Target.detachFromTarget', { sessionId }).catch(() => {});
      await cdp.detach().catch(() => {});
    },
  };
  return session;
}

/**
 * Asks `prompts` ([{id, prompt}]) over `ports` ports of `understudy-ask` from PAGE (an extension
 * page), one ask at a time per port, each waiting at most `timeoutMs` for its end. Resolves to one
 * entry per prompt: {id, ends: [terminal messages], deltas: text, after: messages after the end,
 * hung}.
 */
export function askAll(page, prompts, { ports = 4, timeoutMs = 20000 } = {}) {
  return page.evaluate(async ({ prompts, ports, timeoutMs }) => {
    const out = new Map(prompts.map((p) => [p.id, { id: p.id, ends: [], deltas: '', after: 0, afterTypes: [], hung: false, messages: 0 }]));
    let next = 0;
    async function worker() {
      const port = chrome.runtime.connect({ name: 'understudy-ask' });
      let current = null;
      port.onMessage.addListener((m) => {
        const e = out.get(m.id);
        if (!e) return;
        e.messages++;
        // After its end, a prompt may still get its decision log; never another delta or end.
        if (e.ends.length) {
          e.afterTypes.push(m.type);
          if (['delta', 'done', 'error'].includes(m.type)) e.after++;
        }
        if (m.type === 'delta') e.deltas += m.text;
        if (m.type === 'done' || m.type === 'error') {
          e.ends.push({ type: m.type, provider: m.provider ?? null, text: m.text ?? null, message: m.message ?? null, class: m.class ?? null, partial: m.partial ?? null });
          if (current?.id === m.id) current.resolve();
        }
      });
      while (next < prompts.length) {
        const p = prompts[next++];
        await new Promise((resolve) => {
          const timer = setTimeout(() => {
            out.get(p.id).hung = true;
            resolve();
          }, timeoutMs);
          current = { id: p.id, resolve: () => { clearTimeout(timer); resolve(); } };
          port.postMessage({ type: 'ask', id: p.id, conversation: [], prompt: p.prompt });
        });
        // A late duplicate end shows within this pause.
      }
      await new Promise((r) => setTimeout(r, 300));
      port.disconnect();
    }
    await Promise.all(Array.from({ length: ports }, worker));
    return [...out.values()];
  }, { prompts, ports, timeoutMs });
}
