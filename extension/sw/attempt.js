// One attempt at one provider: an HTTP request built by the core and its stream decoded by the
// core (`attempt`), or Chrome's on-device model (`attemptBuiltIn`). The router around it, retries,
// failover and what the page hears are `providers.js`'s.
import { core } from './core.js';
import { noteWords, t } from './words.js';

const ERROR_BODY_MAX = 64 * 1024;

// ---- one HTTP or on-device attempt -------------------------------------------------------------

/** The conversation plus the new prompt (buildRequest trims it to the provider's context window). */
export function messagesFor(conversation, prompt) {
  const all = conversation
    .filter((m) => m && typeof m.content === 'string' && ['system', 'user', 'assistant'].includes(m.role))
    .map((m) => ({ role: m.role, content: m.content }));
  if (typeof prompt === 'string' && prompt.length > 0) all.push({ role: 'user', content: prompt });
  return all;
}

/**
 * Runs one attempt. Callbacks: onFirstByte(), onText(text) for each chunk (text may be empty),
 * returns {ok: true, finish} or {ok: false, class, detail, retry_after_ms}. A stale attempt (aborted
 * by the caller) resolves with {ok: false, class: 'cancelled'}.
 */
export async function attempt({ entry, messages, continueFrom, maxOutputTokens, signal, onFirstByte, onText, onNote = () => {} }) {
  const kind = entry.config.kind;
  if (kind === 'chrome_built_in') return attemptBuiltIn({ messages, continueFrom, signal, onFirstByte, onText });
  let request;
  try {
    request = core.buildRequest(entry.config, messages, {
      continue_from: continueFrom || null,
      max_output_tokens: maxOutputTokens ?? null,
    });
  } catch (error) {
    const message = String(error?.message ?? error);
    return { ok: false, class: /API key/.test(message) ? 'auth' : 'bad_request', detail: message, core: true };
  }
  if (request.note) onNote(noteWords(request.note));
  let response;
  try {
    response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body, signal, cache: 'no-store', credentials: 'omit' });
  } catch (error) {
    if (signal.aborted) return { ok: false, class: 'cancelled' };
    return { ok: false, class: 'network', detail: t('worker_could_not_reach', new URL(request.url).origin, error?.message ?? error) };
  }
  if (!response.ok) {
    let body = '';
    try {
      body = (await response.text()).slice(0, ERROR_BODY_MAX);
    } catch {
      if (signal.aborted) return { ok: false, class: 'cancelled' };
    }
    const e = core.classifyHttpError(kind, response.status, [...response.headers], body);
    return { ok: false, class: e.class, detail: e.message, retry_after_ms: e.retry_after_ms ?? null, core: true };
  }
  onFirstByte();
  const decoder = new core.StreamDecoder(core.streamFormatFor(kind));
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onText(decoder.feed(value));
      if (decoder.isEnded()) {
        reader.cancel().catch(() => {});
        break;
      }
    }
  } catch (error) {
    decoder.free();
    if (signal.aborted) return { ok: false, class: 'cancelled' };
    return { ok: false, class: 'network', detail: t('worker_connection_dropped', error?.message ?? error) };
  }
  const end = decoder.finish();
  decoder.free();
  if (end.text) onText(end.text);
  if (end.outcome === 'complete') {
    if (end.finish === 'content_filter') return { ok: false, class: 'content_filter', detail: t('worker_stopped_by_policy') };
    return { ok: true, finish: end.finish };
  }
  if (end.outcome === 'error') return { ok: false, class: end.error.class, detail: end.error.message, core: true };
  return { ok: false, class: 'network', detail: t('worker_stream_ended') };
}

/** Chrome's on-device model through the Prompt API (global LanguageModel), when present. */
async function attemptBuiltIn({ messages, continueFrom, signal, onFirstByte, onText }) {
  const LM = globalThis.LanguageModel;
  const unavailable = (why) => ({ ok: false, class: 'not_found', detail: t('worker_builtin_unavailable', why) });
  if (!LM || typeof LM.availability !== 'function') return unavailable('no Prompt API');
  let session;
  try {
    const availability = await LM.availability();
    if (availability !== 'available') {
      return availability === 'downloadable' || availability === 'downloading'
        ? { ok: false, class: 'server', detail: t('worker_builtin_downloading') }
        : unavailable(`availability: ${availability}`);
    }
    const turns = messages.slice();
    if (continueFrom) {
      turns.push({ role: 'assistant', content: continueFrom });
      turns.push({ role: 'user', content: 'Your previous answer was cut off. Continue it exactly where it stopped, without repeating anything.' });
    }
    const last = turns.pop();
    session = await LM.create({ initialPrompts: turns, signal });
    const stream = session.promptStreaming(last?.content ?? '', { signal });
    let first = true;
    for await (const chunk of stream) {
      if (first) {
        onFirstByte();
        first = false;
      }
      onText(String(chunk));
    }
    if (first) onFirstByte();
    return { ok: true, finish: 'stop' };
  } catch (error) {
    if (signal.aborted) return { ok: false, class: 'cancelled' };
    return { ok: false, class: 'server', detail: t('worker_builtin_failed', error?.message ?? error) };
  } finally {
    try {
      session?.destroy();
    } catch {}
  }
}

