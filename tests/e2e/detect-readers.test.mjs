// However the page reads its answer stream (a reader to the end or only up to [DONE], a BYOB reader,
// pipeThrough, text(), a reader let go and another taken, or cancel), the MAIN-world hooks say how
// the stream ended, the capture hook posts every byte the page read, and the page gets every byte unchanged. The
// answers are long and fast (hundreds of reads between two of the hook's looks), so the hook passes
// over most chunks and must still see the end.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listeningChat } from './detect-helpers.mjs';

const WORDS = 400;
const ANSWER = Array.from({ length: WORDS }, (_, i) => `w${i} `).join('');
const STREAM_ERROR = 'Something went wrong while generating the response.';

const chat = listeningChat({ captures: true });

/** The page sends a prompt and reads the answer stream `how`; returns the text it got. */
function consume(how) {
  return chat.page.evaluate(async (how) => {
    const body = JSON.stringify({
      action: 'next', conversation_id: null, parent_message_id: 'p-0',
      messages: [{ id: `u-${Date.now()}`, author: { role: 'user' }, content: { content_type: 'text', parts: [`read it by ${how}`] } }],
    });
    const r = await fetch('/backend-api/f/conversation', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const utf8 = new TextDecoder();
    const join = (parts) => parts.map((p) => utf8.decode(p, { stream: true })).join('') + utf8.decode();
    const parts = [];
    switch (how) {
      case 'reader': {
        const reader = r.body.getReader();
        for (let x = await reader.read(); !x.done; x = await reader.read()) parts.push(x.value);
        return join(parts);
      }
      case 'until-done': { // stops reading at [DONE], never sees the end of the stream
        const reader = r.body.getReader();
        let text = '';
        while (!text.endsWith('data: [DONE]\n\n')) {
          const x = await reader.read();
          if (x.done) break;
          text += utf8.decode(x.value, { stream: true });
        }
        return text;
      }
      case 'byob': {
        const reader = r.body.getReader({ mode: 'byob' });
        let buffer = new ArrayBuffer(4096);
        for (;;) {
          const x = await reader.read(new Uint8Array(buffer));
          if (x.done) break;
          parts.push(x.value.slice());
          buffer = x.value.buffer; // the same buffer, handed back
        }
        return join(parts);
      }
      case 'pipe': {
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let text = '';
        for (let x = await reader.read(); !x.done; x = await reader.read()) text += x.value;
        return text;
      }
      case 'text':
        return r.text();
      case 'release': { // a few reads, the reader let go, the rest with another reader
        let reader = r.body.getReader();
        for (let i = 0; i < 5; i++) parts.push((await reader.read()).value);
        reader.releaseLock();
        reader = r.body.getReader();
        for (let x = await reader.read(); !x.done; x = await reader.read()) parts.push(x.value);
        return join(parts);
      }
      case 'cancel': { // the user stops the answer midway
        const reader = r.body.getReader();
        let size = 0;
        while (size < 20000) {
          const x = await reader.read();
          if (x.done) break;
          size += x.value.byteLength;
          parts.push(x.value);
        }
        await reader.cancel();
        return join(parts);
      }
      default:
        throw new Error(how);
    }
  }, how);
}

/** The page's events: each `data:` payload, parsed when JSON. */
const events = (text) => text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => {
  const data = e.slice(6);
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
});

/** Reads the stream `how` in `mode`; returns the page's text, the stream_end fact and what the capture hook posted of the stream. */
async function run(how, mode) {
  await chat.page.evaluate(() => { window.__posted = []; });
  chat.site.setMode({ mode, answer: ANSWER, tokenDelayMs: 1 });
  const text = await consume(how);
  await chat.page.waitForFunction(() => window.__posted.some((m) => m.kind === 'stream_end'), null, { timeout: 10000 });
  await chat.page.waitForTimeout(300); // the capture hook's last post
  const posted = await chat.page.evaluate(() => window.__posted);
  const facts = posted.filter((m) => m.source === 'understudy-hook');
  const send = facts.find((f) => f.kind === 'request_start' && f.path === '/backend-api/f/conversation');
  assert.ok(send, 'the send was seen');
  const mine = facts.filter((f) => f.id === send.id);
  assert.deepEqual(mine.map((f) => f.kind).filter((k) => k !== 'stream_progress'), ['request_start', 'response', 'stream_end']);
  assert.ok(mine.some((f) => f.kind === 'stream_progress'), 'progress while the answer streams');
  const { kind: _k, id: _i, path: _p, source: _s, ...end } = mine.find((f) => f.kind === 'stream_end');
  // The capture hook's posts of this send: numbered batches of the stream's text.
  const batches = posted.filter((m) => m.source === 'understudy-capture' && m.kind === 'stream');
  assert.deepEqual(batches.map((m) => m.seq), batches.map((_, i) => i), 'one stream, posted in order');
  assert.equal(batches[0]?.stream_kind, 'send');
  const captured = { text: batches.map((m) => m.text ?? '').join(''), end: batches.find((m) => m.end)?.end ?? null };
  return { text, end, captured };
}

// The hook says how the page's read ended, never what the stream said: that is for the worker's
// decoder, which gets every byte from the capture hook.
const FINE = { how: 'eof' };

for (const how of ['reader', 'until-done', 'byob', 'pipe', 'text', 'release']) {
  test(`a page reading its answer by ${how}: read to the end, whole answer captured, bytes unchanged`, async () => {
    const { text, end, captured } = await run(how, 'healthy');
    const got = events(text);
    assert.equal(got.length, WORDS + 1, 'every event reached the page');
    assert.equal(got.at(-1), '[DONE]');
    assert.equal(got.at(-2).message.content.parts[0], ANSWER);
    assert.equal(text.split('\n\n').length, WORDS + 2, 'nothing added or cut');
    if (how === 'until-done') assert.ok(['eof', 'abort'].includes(end.how), JSON.stringify(end));
    else assert.deepEqual(end, FINE);
    assert.equal(captured.text, text, 'the capture hook posted every byte the page read');
  });
}

test('a page that cancels its read midway: how: abort; the capture keeps what came', async () => {
  const { text, end, captured } = await run('cancel', 'healthy');
  assert.ok(events(text).length < WORDS, 'stopped before the end');
  assert.deepEqual(end, { how: 'abort' });
  assert.equal(captured.text, text, 'the capture hook posted every byte the page read');
  assert.equal(captured.end, 'abort');
});

for (const how of ['reader', 'pipe', 'text']) {
  test(`an error event at the end of a long stream read by ${how} reaches the worker whole (the hook reads no content)`, async () => {
    const { text, end, captured } = await run(how, 'stream_error');
    assert.equal(events(text).at(-1).error, STREAM_ERROR, 'the page got the error event');
    assert.deepEqual(end, FINE);
    assert.equal(captured.text, text, 'the capture hook posted every byte, the error event too');
  });
}

test('a stream that ends without [DONE] ends as the connection did, whichever the reader', async () => {
  for (const how of ['reader', 'byob']) {
    const { text, end, captured } = await run(how, 'drop');
    assert.ok(['eof', 'error'].includes(end.how), `${how}: ${JSON.stringify(end)}`);
    assert.ok(!text.includes('[DONE]'));
    assert.equal(captured.text, text, how);
  }
});
