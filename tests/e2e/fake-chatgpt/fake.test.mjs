// The fake chatgpt.com itself, in Chromium without the extension: it speaks what the real site speaks
// (delta encoding v1 with echoes, handoff to the resume endpoint and to a socket, the paged plural
// GET, both DOM renderers, temporary chats) and says what it sent. Also how a test drives each case.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch } from '../browser.mjs';
import { sampleConversation, startFakeChatgpt } from './server.mjs';

let site;
let browser;

before(async () => {
  site = await startFakeChatgpt();
  browser = await launch({ chatgptPort: site.port, extension: false });
});

after(async () => {
  await browser?.close();
  await site?.close();
});

async function open(url) {
  const page = await browser.context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e));
  // Counts the page's own aborts.
  await page.addInitScript(() => {
    const abort = AbortController.prototype.abort;
    window.__aborts = 0;
    AbortController.prototype.abort = function (...args) {
      window.__aborts += 1;
      return abort.apply(this, args);
    };
  });
  await page.goto(url);
  return page;
}

async function send(page, text) {
  await page.fill('#prompt-textarea', text);
  await page.click('[data-testid="send-button"]');
}

/** The last `n` streams the server sent, once they ended. */
async function sent(n) {
  for (let i = 0; ; i++) {
    const streams = site.sent(n).streams;
    if (streams.length === n && streams.every((x) => x.ended)) return streams;
    if (i > 200) assert.fail(`streams did not end: ${JSON.stringify(streams.map((x) => [x.kind, x.ended]))}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
const waitAnswer = (page, text, sel = '.markdown') => page.waitForFunction(([t, s]) => [...document.querySelectorAll(s)].at(-1)?.textContent === t, [text, sel], { timeout: 10000 });

/** The SSE events of a stream's text: [{event, data}]. */
function events(text) {
  return text.split('\n\n').filter(Boolean).map((block) => {
    const lines = block.split('\n');
    return { event: lines.find((l) => l.startsWith('event: '))?.slice(7) ?? null, data: lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n') };
  });
}

test('a send streams delta encoding v1 with echoes, a title, an answer in appends and a closing patch; the page shows it and aborts after [DONE]', async () => {
  const answer = 'Grüße aus Lissabon — tram 28, then 😀 pastéis.';
  site.setMode({ answer, thoughts: true, chunkMin: 30, chunkMax: 400, seed: 7 });
  const page = await open('https://chatgpt.com/');
  await send(page, 'Plan a weekend in Lisbon');
  await waitAnswer(page, answer);
  const [s] = await sent(1);
  assert.equal(s.kind, 'send');
  assert.equal(s.encoding, 'v1');
  assert.equal(s.answer, answer);
  assert.equal(s.complete, true);
  // The request as the real page sends it.
  const r = s.request;
  assert.equal(r.action, 'next');
  assert.equal(r.conversation_id, undefined, 'a new chat has no id yet');
  assert.deepEqual(r.supported_encodings, ['v1']);
  assert.equal(r.is_do_not_remember, false);
  assert.equal(r.messages[0].author.role, 'user');
  assert.deepEqual(r.messages[0].content, { content_type: 'text', parts: ['Plan a weekend in Lisbon'] });
  assert.ok(r.messages[0].id && r.messages[0].create_time && r.model && r.timezone && r.parent_message_id);
  // The stream's grammar.
  const ev = events(s.text);
  assert.deepEqual(ev[0], { event: 'delta_encoding', data: '"v1"' });
  assert.equal(JSON.parse(ev[1].data).type, 'resume_conversation_token');
  assert.equal(JSON.parse(ev[1].data).token.split('.').length, 3);
  assert.equal(ev.at(-1).data, '[DONE]');
  const typed = ev.filter((e) => !e.event).map((e) => (e.data === '[DONE]' ? '[DONE]' : JSON.parse(e.data).type));
  assert.ok(['input_message', 'title_generation', 'message_stream_complete'].every((t) => typed.includes(t)), typed.join());
  assert.equal(typed.at(-3), 'message_stream_complete');
  assert.equal(JSON.parse(ev.find((e) => e.data.includes('title_generation')).data).title, 'Plan A Weekend In Lisbon');
  for (const secret of ['ECHO-PROFILE-SECRET', 'ECHO-MEMORY-SECRET', 'ECHO-THOUGHTS-SECRET']) assert.ok(s.text.includes(secret), secret);
  assert.match(s.text, /"content_type":"user_editable_context"/);
  assert.match(s.text, /"content_type":"model_editable_context"/);
  assert.match(s.text, /"content_type":"thoughts"/);
  assert.match(s.text, /"content_type":"reasoning_recap"/);
  assert.match(s.text, /event: delta\ndata: \{"p":"\/message\/content\/parts\/0","o":"append","v":"Grüße "\} */);
  assert.match(s.text, /event: delta\ndata: \{"v":"aus "\} */, 'carry-forward: bare {"v"} deltas');
  assert.match(s.text, /\{"p":"","o":"patch","v":\[\{"p":"\/message\/content\/parts\/0","o":"append","v":"pastéis\."\},\{"p":"\/message\/status","o":"replace","v":"finished_successfully"\},\{"p":"\/message\/end_turn","o":"replace","v":true\}/);
  assert.match(s.text, /\} +\n/, 'delta lines padded with trailing spaces');
  assert.match(s.text, /"status":"in_progress","end_turn":null,"weight":1,"metadata":\{[^\n]*"recipient":"all","channel":"final"\}/);
  // The new chat got its id, the page continues it.
  const id = JSON.parse(ev[1].data).conversation_id;
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(await page.title(), 'Plan A Weekend In Lisbon');
  site.setMode({ answer: 'Second.' });
  await send(page, 'And Porto?');
  await waitAnswer(page, 'Second.');
  const [s2] = await sent(1);
  assert.equal(s2.request.conversation_id, id);
  assert.equal(s2.conversation_id, id);
  assert.equal(s2.request.parent_message_id, site.sent(2).answers.at(-2).message_id);
  assert.ok(!events(s2.text).some((e) => e.data.includes('title_generation')), 'no new title for a continued chat');
  assert.equal(await page.evaluate(() => window.__aborts), 2, 'the page aborted each read right after [DONE]');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the writer cuts chunks of seeded sizes anywhere, inside lines and UTF-8 characters', async () => {
  site.setMode({ answer: 'ü'.repeat(400), chunkMin: 30, chunkMax: 90, tokenDelayMs: 0, seed: 3 });
  const page = await open('https://chatgpt.com/');
  const got = await page.evaluate(async () => {
    const r = await fetch('/backend-api/f/conversation', { method: 'POST', body: JSON.stringify({ action: 'next', messages: [{ id: 'u-x', author: { role: 'user' }, content: { content_type: 'text', parts: ['x'] } }], supported_encodings: ['v1'] }) });
    const reader = r.body.getReader();
    const sizes = [];
    let splitChar = false;
    let splitLine = false;
    const dec = new TextDecoder();
    let text = '';
    for (let x = await reader.read(); !x.done; x = await reader.read()) {
      sizes.push(x.value.byteLength);
      const last = x.value[x.value.byteLength - 1];
      if (last === 0xc3) splitChar = true; // the first byte of ü, its second in the next chunk
      if (last !== 0x0a) splitLine = true;
      text += dec.decode(x.value, { stream: true });
    }
    return { sizes, splitChar, splitLine, text: text + dec.decode() };
  });
  const [s] = await sent(1);
  // Written in chunks of 30 to 90 bytes (the last one what remained); the page's reads may merge some.
  assert.ok(s.chunks.slice(0, -1).every((n) => n >= 30 && n <= 90), s.chunks.join());
  assert.ok(got.sizes.length > 10);
  assert.ok(got.splitChar && got.splitLine, 'reads end inside a character and inside a line');
  assert.equal(got.text, s.text);
  await page.close();
});

test('handoff to the resume endpoint: the POST carries no answer, the page resumes with the offset it consumed', async () => {
  site.setMode({ handoff: 'resume', answer: 'Resumed after the handoff.' });
  const page = await open('https://chatgpt.com/');
  await send(page, 'Hand it off');
  await waitAnswer(page, 'Resumed after the handoff.');
  const [post, resumed] = await sent(2);
  assert.equal(post.kind, 'send');
  assert.equal(post.answer, '');
  const types = events(post.text).map((e) => e.event ?? (e.data === '[DONE]' ? '[DONE]' : JSON.parse(e.data).type));
  assert.deepEqual(types, ['delta_encoding', 'resume_conversation_token', 'delta', 'stream_handoff', '[DONE]']);
  assert.match(post.text, /"options":\[\{"type":"resume_sse_endpoint","topic_id":"conversation-turn-/);
  assert.equal(resumed.kind, 'resume');
  assert.equal(resumed.path, '/backend-api/f/conversation/resume');
  assert.deepEqual(resumed.request, { conversation_id: post.conversation_id, offset: 4 });
  assert.equal(resumed.answer, 'Resumed after the handoff.');
  assert.ok(resumed.text.startsWith('event: delta_encoding\ndata: "v1"\n\n') && resumed.text.endsWith('data: [DONE]\n\n'));
  await page.close();
});

test('how the page ends its read (abortAfter), and a dropped stream resumed from its offset (resumeOnDrop)', async () => {
  const ANSWER = 'Here is a short answer, streamed the way ChatGPT streams it.';
  for (const [abortAfter, aborts] of [['none', 0], ['complete', 1]]) {
    site.setMode({ abortAfter });
    const page = await open('https://chatgpt.com/');
    await send(page, `Abort after ${abortAfter}`);
    await waitAnswer(page, ANSWER);
    await sent(1);
    assert.equal(await page.evaluate(() => window.__aborts), aborts, abortAfter);
    await page.close();
  }
  site.setMode({ mode: 'drop', resumeOnDrop: true, answer: 'one two three four five six' });
  const page = await open('https://chatgpt.com/');
  await send(page, 'Drop it');
  await waitAnswer(page, 'one two three four five six');
  const [dropped, resumed] = await sent(2);
  assert.deepEqual([dropped.answer, dropped.complete, dropped.text.includes('[DONE]')], ['one two three ', false, false]);
  assert.equal(resumed.kind, 'resume');
  assert.equal(resumed.request.offset, events(dropped.text).length - 1);
  assert.equal(resumed.answer, 'four five six');
  await page.close();
});

test('handoff to the socket: ws.chatgpt.com frames carry the stream items, one replayed, then done', async () => {
  site.setMode({ handoff: 'ws', answer: 'Over the socket, word by word.' });
  const page = await open('https://chatgpt.com/');
  await send(page, 'Use the socket');
  await waitAnswer(page, 'Over the socket, word by word.');
  const [post, socket] = await sent(2);
  assert.match(post.text, /"options":\[\{"type":"subscribe_ws_topic","topic_id":"conversation-turn-/);
  assert.equal(socket.kind, 'ws');
  assert.match(socket.path, /^\/ws\/user\/u-123$/);
  const frames = socket.frames.map((f) => JSON.parse(f));
  assert.equal(frames.at(-1).type, 'done');
  const items = frames.filter((f) => f.type === 'message').map((f) => f.payload.payload);
  assert.ok(items.every((i) => i.type === 'stream-item' && i.conversation_id === post.conversation_id && /^(event: delta\n)?data: .*\n\n$/s.test(i.encoded_item)));
  const ids = items.map((i) => i.stream_item_id);
  assert.equal(new Set(ids).size, ids.length - 1, 'one item sent twice');
  assert.equal(frames[0].payload.type, 'conversation-turn-stream');
  assert.ok(site.requests.some((r) => r.path === '/backend-api/celsius/ws/user'));
  assert.ok(site.requests.some((r) => r.method === 'WEBSOCKET' && r.host.startsWith('ws.chatgpt.com')));
  await page.close();
});

/** A seeded conversation of `n` exchanges (export-shaped). */
const longConversation = (id, n) => sampleConversation(id, { turns: Array.from({ length: n }, (_, i) => [`Question ${i + 1}`, `Answer ${i + 1}`]) });

test('opening /c/<id>: the plural GET (10 turns, page_info), older pages by cursor, messages with parent ids and an echo', async () => {
  site.setMode({ conversations: { 'long-1': longConversation('long-1', 25) }, loadOlder: true });
  const from = site.requests.length;
  const page = await open('https://chatgpt.com/c/long-1');
  await page.waitForFunction(() => document.querySelectorAll('[data-message-author-role]').length === 50);
  const gets = site.requests.slice(from).filter((r) => r.path.startsWith('/backend-api/'));
  assert.deepEqual(gets.map((r) => r.path), ['/backend-api/conversations/long-1', '/backend-api/conversations/long-1/messages', '/backend-api/conversations/long-1/messages']);
  const body = await page.evaluate(async () => (await fetch('/backend-api/conversations/long-1?include_has_versions=true&num_turns=10')).json());
  assert.equal(body.conversation_id, 'long-1');
  assert.equal(body.messages.length, 20);
  assert.deepEqual(body.messages.slice(0, 2).map((m) => m.content.parts[0]), ['Question 16', 'Answer 16']);
  assert.equal(typeof body.page_info.start_cursor, 'string');
  assert.deepEqual([body.page_info.has_previous_page, body.page_info.has_next_page], [true, false]);
  assert.equal(body.messages[1].metadata.parent_id, body.messages[0].id);
  assert.equal(body.is_temporary_chat, false);
  assert.equal(body.is_do_not_remember, false);
  const first = await page.evaluate(async (c) => (await fetch(`/backend-api/conversations/long-1/messages?before=${c}&include_has_versions=true&num_turns=10`)).json(), body.page_info.start_cursor);
  assert.equal(first.page_info.has_previous_page, true);
  const oldest = await page.evaluate(async (c) => (await fetch(`/backend-api/conversations/long-1/messages?before=${c}&num_turns=10`)).json(), first.page_info.start_cursor);
  assert.equal(oldest.page_info.has_previous_page, false);
  assert.deepEqual(oldest.messages.slice(0, 2).map((m) => m.content.content_type), ['text', 'user_editable_context'], 'the oldest page starts with the context echo');
  assert.equal(oldest.messages[1].metadata.is_visually_hidden_from_conversation, true);
  // The singular GET keeps the export's mapping.
  const single = await page.evaluate(async () => (await fetch('/backend-api/conversation/long-1')).json());
  assert.equal(Object.keys(single.mapping).length, 51);
  await page.close();
  // ?noload=1: no GET; a seeded conversation comes with the page, any other is not shown.
  site.setMode({ conversations: { 'long-1': longConversation('long-1', 25) } });
  const before = site.requests.length;
  const embedded = await open('https://chatgpt.com/c/long-1?noload=1');
  await embedded.waitForFunction(() => document.querySelectorAll('[data-message-author-role]').length === 20);
  const unknown = await open('https://chatgpt.com/c/not-seeded?noload=1');
  await unknown.waitForTimeout(200);
  assert.equal(await unknown.locator('[data-message-author-role]').count(), 0);
  assert.deepEqual(site.requests.slice(before).filter((r) => r.path.startsWith('/backend-api/')), []);
  await embedded.close();
  await unknown.close();
});

test('the search-unit renderer, windowed', async () => {
  site.setMode({ conversations: { 'long-2': longConversation('long-2', 12) }, renderer: 'search-unit', window: 4 });
  const page = await open('https://chatgpt.com/c/long-2');
  await page.waitForFunction(() => document.querySelectorAll('[data-turn-key]').length === 4);
  await send(page, 'One more');
  await waitAnswer(page, 'Here is a short answer, streamed the way ChatGPT streams it.', '[data-markdown-text-style="assistant-message"]');
  const dom = await page.evaluate(() => ({
    roots: [...document.querySelectorAll('[data-turn-key]')].map((r) => r.dataset.turnKey),
    bubbles: document.querySelectorAll('[data-turn-key] [data-user-message-bubble="true"]').length,
    selection: [...document.querySelectorAll('[data-chatgpt-selection-message-id]')].map((e) => e.dataset.chatgptSelectionMessageId),
    legacy: document.querySelectorAll('[data-message-author-role], [data-testid^="conversation-turn-"], .markdown').length,
  }));
  assert.equal(dom.roots.length, 4);
  assert.deepEqual(dom.roots.slice(0, 3), ['long-2-u10', 'long-2-u11', 'long-2-u12']);
  assert.equal(dom.roots[3], (await sent(1))[0].request.messages[0].id, 'the key is the user message id');
  assert.equal(dom.bubbles, 4);
  assert.equal(dom.selection.at(-1), site.sent(1).answers.at(-1).message_id);
  assert.equal(dom.legacy, 0);
  await page.close();
});

test('temporary chats: the page sends is_do_not_remember; flags add history_and_training_disabled and mark the bodies', async () => {
  site.setMode({});
  let page = await open('https://chatgpt.com/?temporary-chat=true');
  await send(page, 'Private');
  await waitAnswer(page, 'Here is a short answer, streamed the way ChatGPT streams it.');
  let [s] = await sent(1);
  assert.equal(s.request.is_do_not_remember, true);
  assert.equal(s.request.history_and_training_disabled, undefined);
  const body = await page.evaluate(async (id) => (await fetch(`/backend-api/conversations/${id}`)).json(), s.conversation_id);
  assert.deepEqual([body.is_temporary_chat, body.is_do_not_remember], [true, true]);
  await page.close();
  site.setMode({ sendHistoryDisabled: true, sendDoNotRemember: true, markTemporaryChat: true });
  page = await open('https://chatgpt.com/');
  await send(page, 'Flags');
  await waitAnswer(page, 'Here is a short answer, streamed the way ChatGPT streams it.');
  [s] = await sent(1);
  assert.equal(s.request.history_and_training_disabled, true);
  assert.equal(s.request.is_do_not_remember, true);
  const marked = await page.evaluate(async () => (await fetch('/backend-api/conversations/any-id')).json());
  assert.deepEqual([marked.is_temporary_chat, marked.is_do_not_remember], [true, false]);
  await page.close();
});

test('failures: a v1 error root mid-answer, the legacy snapshots, GET /__sent over HTTP', async () => {
  site.setMode({ mode: 'stream_error', answer: 'one two three four', streamErrorCode: 'internal_error' });
  const page = await open('https://chatgpt.com/');
  await send(page, 'Break');
  await page.waitForSelector('.text-token-text-error');
  const [s] = await sent(1);
  assert.match(s.text, /data: \{"p":"","o":"add","v":\{"message":null,"conversation_id":"[^"]+","error":"Something went wrong while generating the response.","error_code":"internal_error"\},"c":\d+\} *\n\n$/);
  assert.ok(!s.text.includes('[DONE]'));
  site.setMode({ encoding: 'legacy', answer: 'Old style.' });
  await send(page, 'Legacy');
  await waitAnswer(page, 'Old style.');
  const [l] = await sent(1);
  assert.equal(l.encoding, 'legacy');
  assert.equal(l.conversation_id, '6a1f0c3e-2b4d-4e5f-9a8b-7c6d5e4f3a2b');
  assert.equal(JSON.parse(events(l.text).at(-2).data).message.content.parts[0], 'Old style.');
  const http = await page.evaluate(async () => (await fetch('/__sent?n=2')).json());
  assert.deepEqual(http.streams.map((x) => x.encoding), ['v1', 'legacy']);
  assert.equal(http.answers.at(-1).text, 'Old style.');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a thinking turn: silent for thinkMs; the page aborts its idle read itself and resumes from its offset until the answer comes, showing the recovery status meanwhile', async () => {
  site.setMode({ thinkMs: 1300, pageIdleMs: 400, answer: 'Thought it through.', tokenDelayMs: 5 });
  const page = await open('https://chatgpt.com/');
  await page.evaluate(() => {
    window.__recovery = [];
    new MutationObserver(() => {
      const s = document.querySelector('[role="status"] > span.text-chatgpt-recovery');
      const last = window.__recovery.at(-1);
      if ((s?.textContent ?? null) !== (last ?? null)) window.__recovery.push(s?.textContent ?? null);
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  const t0 = Date.now();
  await send(page, 'Think hard');
  await waitAnswer(page, 'Thought it through.');
  assert.ok(Date.now() - t0 >= 1200, 'not before the thinking silence is over');
  const streams = site.sent(10).streams;
  const post = streams.findLast((x) => x.kind === 'send');
  const resumes = streams.filter((x) => x.kind === 'resume' && x.seq > post.seq);
  assert.equal(post.answer, '');
  assert.ok(resumes.length >= 2, `resumed each idle period: ${resumes.length}`);
  const offsets = resumes.map((r) => r.request.offset);
  assert.ok(offsets.every((o) => o === offsets[0]) && offsets[0] === events(post.text).length - 1, `offsets ${offsets} (events consumed before the silence)`);
  assert.equal(resumes.at(-1).answer, 'Thought it through.');
  assert.ok(resumes.slice(0, -1).every((r) => r.answer === '' && r.text === 'event: delta_encoding\ndata: "v1"\n\n'), 'an idle resume carries its declaration and then nothing');
  assert.ok(await page.evaluate(() => window.__aborts) >= resumes.length, 'the page aborted its own idle reads');
  assert.deepEqual(await page.evaluate(() => window.__recovery), ['Connection interrupted. Waiting for the complete answer', null]);
  assert.equal(await page.locator('.text-token-text-error, aside[role="alert"]').count(), 0);
  await page.close();
});

test('a socket silent through the thinking is given up after pageIdleMs, then the resume brings the answer', async () => {
  site.setMode({ handoff: 'ws', thinkMs: 900, pageIdleMs: 400, answer: 'From the resume after the socket.' });
  const page = await open('https://chatgpt.com/');
  await send(page, 'Socket, then think');
  await waitAnswer(page, 'From the resume after the socket.');
  const kinds = site.sent(6).streams.map((x) => x.kind);
  assert.deepEqual(kinds.slice(kinds.lastIndexOf('send')).slice(0, 3), ['send', 'ws', 'resume']);
  await page.close();
});

test('a send cut during the thinking (dropAfterMs) is resumed (resumeOnDrop): recovery status, then the answer as it is produced', async () => {
  site.setMode({ thinkMs: 800, dropAfterMs: 150, resumeOnDrop: true, answer: 'Whole after the drop.' });
  const page = await open('https://chatgpt.com/');
  await send(page, 'Drop while thinking');
  await page.waitForSelector('[role="status"] > span.text-chatgpt-recovery');
  await waitAnswer(page, 'Whole after the drop.');
  assert.equal(await page.locator('.text-chatgpt-recovery').count(), 0, 'gone once the answer came');
  const [post, resumed] = await sent(2);
  assert.deepEqual([post.kind, post.cut, post.text.includes('[DONE]')], ['send', true, false]);
  assert.equal(resumed.kind, 'resume');
  assert.equal(resumed.answer, 'Whole after the drop.');
  await page.close();
});

test('a moderation block: part of the answer, the moderation event, [DONE]; the page says so in the turn', async () => {
  site.setMode({ mode: 'moderation', answer: 'one two three four' });
  const page = await open('https://chatgpt.com/');
  await send(page, 'Something not allowed');
  await page.waitForSelector('[data-testid="conversation-turn-2"] .text-token-text-error');
  assert.equal(await page.textContent('.text-token-text-error'), 'This content may violate our usage policies.');
  const [s] = await sent(1);
  const ev = events(s.text);
  assert.equal(ev.at(-1).data, '[DONE]');
  const m = JSON.parse(ev.at(-2).data);
  assert.deepEqual([m.type, m.moderation_response], ['moderation', { flagged: true, blocked: true, disclaimers: [] }]);
  assert.ok(m.conversation_id && m.message_id);
  assert.equal(s.answer, 'one two ');
  await page.close();
});

test('error surfaces: a failed resume (aside alert), a 429 (dialog), conversation too long (the turn, Start new chat), and each surface the control chooses', async () => {
  site.setMode({ handoff: 'resume', resumeStatus: 404 });
  let page = await open('https://chatgpt.com/');
  await send(page, 'Resume fails');
  await page.waitForSelector('aside[role="alert"]');
  assert.equal(await page.textContent('aside[role="alert"] p'), 'A network error occurred. Please check your connection and try again.');
  assert.equal(await page.textContent('aside[role="alert"] button'), 'Retry');
  assert.equal(await page.locator('.text-token-text-error').count(), 0);
  await page.close();

  site.setMode({ mode: 'status', status: 429, body: '{"detail":"Too many requests in 1 hour. Try again later."}' });
  page = await open('https://chatgpt.com/');
  await send(page, 'Too fast');
  await page.waitForSelector('[role="dialog"]');
  assert.match(await page.textContent('[role="dialog"]'), /^Too many requests.*You're making requests too quickly.*Got it$/);
  assert.equal(await page.locator('[data-testid^="conversation-turn-"] [role="dialog"], .text-token-text-error').count(), 0);
  await page.click('[role="dialog"] button');
  assert.equal(await page.locator('[role="dialog"]').count(), 0);
  await page.close();

  site.setMode({ mode: 'too_long' });
  page = await open('https://chatgpt.com/');
  await send(page, 'One more');
  await page.waitForSelector('[data-testid="conversation-turn-2"] .text-token-text-error');
  assert.match(await page.textContent('.text-token-text-error'), /^You've reached the maximum length for this conversation/);
  assert.equal(await page.textContent('[data-testid="conversation-turn-2"] button'), 'Start new chat');
  await page.close();

  const surfaces = {
    turn: '[data-testid="conversation-turn-2"] .text-token-text-error',
    alert: 'aside[role="alert"]',
    dialog: '[role="dialog"]',
    toast: '[data-testid="toast-error"]',
    'surface-error': 'aside[class*="surface-error"]',
  };
  for (const [surface, sel] of Object.entries(surfaces)) {
    site.setMode({ mode: 'status', status: 500, body: '{"detail":"x"}', surface, surfaceText: `Shown on ${surface}.` });
    page = await open('https://chatgpt.com/');
    await send(page, 'Fail here');
    await page.waitForSelector(sel);
    assert.equal((await page.textContent(sel)).startsWith(`Shown on ${surface}.`), true, surface);
    assert.equal(await page.locator('.text-token-text-error').count(), surface === 'turn' ? 1 : 0, surface);
    await page.close();
  }
  // ?quiet=1: none of them.
  site.setMode({ mode: 'status', status: 429, body: '{}' });
  page = await open('https://chatgpt.com/?quiet=1');
  await send(page, 'Quiet');
  await page.waitForFunction(() => document.querySelector('[data-testid="conversation-turn-2"]') && !document.querySelector('#stop-button:not([hidden])'));
  await page.waitForTimeout(200);
  assert.equal(await page.locator('[role="dialog"], aside, .text-token-text-error').count(), 0);
  await page.close();
});

test('page furniture: banners (test id or role alert), the Stop control, the logged-out header and backend, an old error in the history of either renderer', async () => {
  const banner = "You've hit the Free plan limit for GPT-5. Responses will use another model until your limit resets after 3:54 PM.";
  for (const [bannerRole, sel] of [[null, 'div[data-testid="composer-banner"]'], ['alert', 'div[role="alert"]']]) {
    site.setMode({ banner, bannerRole, tokenDelayMs: 30 });
    const page = await open('https://chatgpt.com/');
    await send(page, 'Hello');
    await page.waitForSelector(sel);
    assert.equal(await page.textContent(sel), banner);
    assert.equal(await page.locator('#composer').evaluate((c, s) => c.previousElementSibling?.matches(s), sel), true, 'just above the composer');
    await page.close();
  }
  for (const [stop, sel] of [['aria', 'button[aria-label="Stop streaming"]:not([data-testid])'], ['testid', 'button[data-testid="stop-button"]']]) {
    site.setMode({ stop, tokenDelayMs: 40 });
    const page = await open('https://chatgpt.com/');
    await send(page, 'Stop me');
    await page.waitForSelector(`${sel}:not([hidden])`);
    await page.close();
  }
  site.setMode({ loggedOut: true });
  let page = await open('https://chatgpt.com/');
  assert.equal(await page.locator('header button[data-testid="login-button"]').count(), 1);
  await send(page, 'Anonymous');
  await waitAnswer(page, 'Here is a short answer, streamed the way ChatGPT streams it.');
  assert.equal((await sent(1))[0].path, '/backend-anon/f/conversation');
  await page.close();
  site.setMode({ loggedOut: true, backend: 'backend-api' });
  page = await open('https://chatgpt.com/');
  await send(page, 'Logged out, but backend-api');
  await waitAnswer(page, 'Here is a short answer, streamed the way ChatGPT streams it.');
  assert.equal((await sent(1))[0].path, '/backend-api/f/conversation');
  await page.close();

  site.setMode({ oldError: 'Something went wrong while generating the response.', renderer: 'search-unit', mode: 'status', status: 500, body: '{"detail":"Fresh failure."}' });
  page = await open('https://chatgpt.com/');
  await page.waitForSelector('[data-turn-key] .text-token-text-error');
  await send(page, 'Now');
  await page.waitForFunction(() => document.querySelectorAll('.text-token-text-error').length === 2);
  const dom = await page.evaluate(() => ({
    boxes: [...document.querySelectorAll('[data-turn-key]')].map((r) => r.querySelector('.text-token-text-error')?.textContent ?? null),
    roles: document.querySelectorAll('[data-message-author-role]').length,
  }));
  assert.deepEqual(dom, { boxes: ['Something went wrong while generating the response.', null, 'Fresh failure.'], roles: 0 });
  await page.close();
  site.setMode({ oldError: 'Old failure.', conversations: { 'hist-1': sampleConversation('hist-1') } });
  page = await open('https://chatgpt.com/c/hist-1');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid^="conversation-turn-"]').length === 6);
  assert.equal(await page.textContent('[data-testid="conversation-turn-2"] .text-token-text-error'), 'Old failure.');
  assert.equal(await page.locator('[data-testid="conversation-turn-2"] button').count(), 0, 'no Retry on history');
  await page.close();
});

test('a failed document: nginx, Cloudflare and JSON error pages, with no app in them', async () => {
  const cases = [
    [{ status: 503, kind: 'nginx' }, 503, '503 Service Temporarily Unavailable', 'text/html'],
    [{ status: 502, kind: 'cloudflare' }, 502, 'chatgpt.com | 502: Bad gateway', 'text/html'],
    [{ status: 503, kind: 'json' }, 503, '', 'application/json'],
  ];
  const page = await browser.context.newPage();
  for (const [document, status, title, type] of cases) {
    site.setMode({ document });
    for (const path of ['/', '/c/some-chat']) {
      const response = await page.goto(`https://chatgpt.com${path}`);
      assert.equal(response.status(), status);
      assert.match(response.headers()['content-type'], new RegExp(type));
      const seen = await page.evaluate(() => ({
        title: document.title,
        text: document.body.innerText,
        scripts: document.scripts.length,
        app: !!document.querySelector('#composer, #thread, #prompt-textarea'),
        cf: !!document.querySelector('#cf-error-details'),
        nav: performance.getEntriesByType('navigation')[0].responseStatus,
      }));
      assert.equal(seen.scripts, 0);
      assert.equal(seen.app, false);
      assert.equal(seen.nav, status);
      if (document.kind === 'json') assert.match(seen.text, /\{"detail":"Service Unavailable"\}/);
      else assert.equal(seen.title, title);
      assert.equal(seen.cf, document.kind === 'cloudflare');
      if (document.kind === 'nginx') assert.match(seen.text, /503 Service Temporarily Unavailable\s+nginx/);
    }
  }
  site.setMode({});
  await page.goto('https://chatgpt.com/');
  assert.equal(await page.locator('#composer').count(), 1, 'back to the app');
  await page.close();
});
