// EventSource and WebSocket: a channel the page opens to chatgpt.com gives the same facts as a
// streamed fetch (from the MAIN-world hook), and the page's own use of the channel is unchanged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listeningChat } from './detect-helpers.mjs';

const chat = listeningChat();

/**
 * Opens a channel in the page (`kind` 'events' or 'socket', the fake server's `mode`), closes it
 * from the page after `closeAfterMs` if given, and returns what the page received and the facts the
 * hook posted about it once one ended it.
 */
async function run(kind, mode, { closeAfterMs = null } = {}) {
  const path = kind === 'events' ? '/backend-api/test-events' : '/backend-api/test-socket';
  const seen = await chat.page.evaluate(async ({ kind, mode, path, closeAfterMs }) => {
    const got = { messages: [], closed: null };
    const channel = kind === 'events'
      ? new EventSource(`${path}?mode=${mode}`)
      : new WebSocket(`wss://${location.host}${path}?mode=${mode}`);
    got.native = kind === 'events' ? channel instanceof EventSource && EventSource.CLOSED === 2 : channel instanceof WebSocket && WebSocket.OPEN === 1;
    channel.addEventListener('message', (event) => got.messages.push(event.data));
    channel.addEventListener('close', (event) => { got.closed = { code: event.code, clean: event.wasClean }; });
    await new Promise((resolve) => setTimeout(resolve, closeAfterMs ?? 600));
    if (closeAfterMs != null) channel.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (closeAfterMs == null) channel.close(); // tidy up; the facts were already final
    return got;
  }, { kind, mode, path, closeAfterMs });
  const facts = await chat.page.evaluate((p) => window.__posted.filter((f) => f.path === p), path);
  await chat.page.evaluate(() => { window.__posted = []; });
  return { seen, facts };
}

const kinds = (facts) => facts.map((f) => f.kind);

/** One channel, one way of ending: the facts say so, and the page got its messages untouched. */
async function check(kind, mode, options, expectEnd, expectMessages) {
  const { seen, facts } = await run(kind, mode, options);
  assert.ok(seen.native, 'the page still gets a real EventSource/WebSocket');
  assert.deepEqual(seen.messages, expectMessages);
  const method = kind === 'events' ? 'GET' : 'WEBSOCKET';
  assert.deepEqual(kinds(facts).filter((k) => k !== 'stream_progress'), ['request_start', 'response', 'stream_end'], JSON.stringify(facts));
  assert.ok(kinds(facts).includes('stream_progress'), 'progress while messages arrive');
  const [start, response] = facts;
  assert.equal(start.method, method);
  assert.equal(start.prompt, null);
  assert.equal(response.status, kind === 'events' ? 200 : 101);
  assert.equal(response.streaming, true);
  assert.ok(facts.every((f) => f.id === start.id), 'one request id');
  const { kind: _k, id: _i, path: _p, source: _s, ...rest } = facts.find((f) => f.kind === 'stream_end');
  assert.deepEqual(rest, { how: expectEnd });
  // Nothing of the messages themselves is posted, only facts.
  assert.doesNotMatch(JSON.stringify(facts), /"one"|"two"|message stream/);
}

const ONE_TWO = ['{"v": "one"}', '{"v": "two"}'];
const ERROR_EVENT = JSON.stringify({ message: null, error: 'Error in message stream' });

// What a message says is the core's to read (the worker decodes the page's streams): an error
// message does not end the watch (the connection's end does), and nothing of it is posted.
test('EventSource: an error event in the stream is not read by the hook (the drop after it ends the watch)', async () => {
  await check('events', 'error', {}, 'error', [...ONE_TWO, ERROR_EVENT]);
});

test('EventSource: a dropped connection ends with how: error', async () => {
  await check('events', 'drop', {}, 'error', ONE_TWO);
});

test('EventSource: close() by the page ends with how: abort', async () => {
  await check('events', 'hold', { closeAfterMs: 300 }, 'abort', ONE_TWO);
});

test('WebSocket: a clean close (1000) ends with how: eof', async () => {
  await check('socket', 'clean', {}, 'eof', ONE_TWO);
});

test('WebSocket: a dropped connection ends with how: error', async () => {
  await check('socket', 'abrupt', {}, 'error', ONE_TWO);
});

test('WebSocket: an error message is not read by the hook (the watch ends with the page closing it)', async () => {
  await check('socket', 'error', {}, 'abort', [...ONE_TWO, ERROR_EVENT]);
});

test('WebSocket: close() by the page ends with how: abort', async () => {
  await check('socket', 'hold', { closeAfterMs: 300 }, 'abort', ONE_TWO);
});

test('channels to other hosts or other paths are not watched', async () => {
  const facts = await chat.page.evaluate(async () => {
    window.__posted = [];
    const a = new WebSocket('wss://other.invalid/backend-api/test-socket');
    a.addEventListener('error', () => {});
    const b = new EventSource('/static/not-watched');
    b.addEventListener('error', () => {});
    await new Promise((resolve) => setTimeout(resolve, 500));
    b.close();
    return window.__posted;
  });
  assert.deepEqual(facts, []);
});
