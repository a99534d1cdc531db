//# allFunctionsCalledOnLoad
// Content script: the page's own traffic, for detection (isolated world). Plain JS, no Wasm, no
// secrets.
//
// It hears the MAIN-world hook (content/page-hook.js) through window messages, which any page script
// can forge: every fact is checked for its exact shape and rate-limited. From the facts it reports
// to the worker (through `host.send(observation)`):
// - `network`: an error status or a failed request on an endpoint the adapter knows (the send, the
//   page's resume, a conversation read, the auth session); a request that went well only while a
//   failure shows (it may be the recovery);
// - `stall`: a turn in flight that showed no sign of life (no byte on any of its paths: the send,
//   a resume, the socket; no resume and no status poll by the page; no recovery shown) for the
//   page's own wait plus its resume grace (the adapter's `timing`).
// - a send's answer stream broken off (the connection, not the page, ended it) on a site that never
//   resumes an answer (no `resume_grace_ms`): a failed send, at once.
// How a stream ended (done, handed off, an error event, a moderation block) is not judged here: the
// capture hook hands every byte to the worker, whose core decodes it and judges the turn; the worker
// says how the turn ended (`turnEnded`), which ends the watch.
//
// `UnderstudyTraffic.create(adapter, host)`: host = {send(obs), failing(): bool, streamStarted(),
// streamEnded(), settled()}; returns {fact(d), activity(), turnEnded(end), sendInFlight(),
// lastPrompt(), stop()}. `UnderstudyTraffic.validFact(d)` checks one hook message.
const UnderstudyTraffic = (() => {
  const HOOK = 'understudy-hook';
  const MAX_PENDING = 64;
  const MAX_PATH = 2048;
  const MAX_DETAIL = 2048;
  const MAX_PROMPT = 32768;
  const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'WEBSOCKET', 'MESSAGE']);
  const HOWS = new Set(['eof', 'abort', 'error']);

  const isStrOrNull = (max) => (v) => v === null || (typeof v === 'string' && v.length <= max);
  const isBool = (v) => typeof v === 'boolean';
  const isId = (v) => Number.isSafeInteger(v) && v > 0;
  const isPath = (v) => typeof v === 'string' && v.length <= MAX_PATH && v.startsWith('/');
  const isMethod = (v) => typeof v === 'string' && METHODS.has(v);
  const isStatus = (v) => Number.isInteger(v) && v >= 100 && v <= 599;
  const SPECS = {
    request_start: { id: isId, path: isPath, method: isMethod, prompt: isStrOrNull(MAX_PROMPT) },
    request_failed: { id: isId, path: isPath, method: isMethod, aborted: isBool },
    response: {
      id: isId, path: isPath, method: isMethod, status: isStatus, retry_after: isStrOrNull(64),
      challenge: isBool, streaming: isBool, detail: isStrOrNull(MAX_DETAIL),
    },
    stream_progress: { id: isId, path: isPath },
    stream_end: { id: isId, path: isPath, how: (v) => HOWS.has(v) },
  };
  const OPTIONAL = new Set(['prompt', 'retry_after', 'detail', 'aborted', 'challenge', 'streaming']);

  /** The fact if it has exactly the expected shape, else null. */
  function validFact(d) {
    if (!d || typeof d !== 'object' || Array.isArray(d) || d.source !== HOOK) return null;
    const spec = typeof d.kind === 'string' && Object.hasOwn(SPECS, d.kind) ? SPECS[d.kind] : null;
    if (!spec) return null;
    let n = 0;
    for (const k in d) {
      if (++n > 12) return null;
      if (k === 'source' || k === 'kind') continue;
      if (!Object.hasOwn(spec, k) || !spec[k](d[k])) return null;
    }
    for (const k in spec) if (!(k in d) && !OPTIONAL.has(k)) return null;
    return d;
  }

  // claude.ai's error objects name their code `type` (`rate_limit_error`, `overloaded_error`), and
  // a usage limit comes as JSON inside the message: `{"type":"exceeded_limit","resetsAt":<s>}`.
  // (ChatGPT's bodies are read as they always were: `code` only.)
  function typedError(e, fallback) {
    let inner = null;
    try {
      inner = typeof e.message === 'string' && e.message.trimStart().startsWith('{') ? JSON.parse(e.message) : null;
    } catch {
      inner = null;
    }
    if (inner && inner.type === 'exceeded_limit') {
      const at = Number(inner.resetsAt ?? inner.resets_at);
      const ms = at > 1e11 ? at : at * 1000;
      const clears = Number.isFinite(ms) && ms > Date.now() ? Math.ceil((ms - Date.now()) / 1000) : null;
      return { ...fallback, message: null, code: 'exceeded_limit', clears_in: fallback.clears_in ?? clears };
    }
    if (fallback.code === null && typeof e.type === 'string') return { ...fallback, code: e.type.slice(0, 128) };
    return fallback;
  }

  // The error object of an error response body, compact; `challenge` for a challenge page.
  // `typed`: the site writes its error's code as `type` (every site but ChatGPT).
  function bodyError(detail, typed = false) {
    if (!detail) return { error: null, challenge: false };
    const text = detail.trim();
    if (text.startsWith('<')) {
      return { error: null, challenge: /challenge-form|cf-challenge|just a moment/i.test(text) };
    }
    try {
      const v = JSON.parse(text);
      const e = v && typeof v === 'object' ? ('detail' in v ? v.detail : v.error) : null;
      if (typeof e === 'string') return { error: { message: e.slice(0, MAX_DETAIL), code: null, clears_in: null }, challenge: false };
      if (e && typeof e === 'object' && !Array.isArray(e)) {
        const error = {
          message: typeof e.message === 'string' ? e.message.slice(0, MAX_DETAIL) : null,
          code: typeof e.code === 'string' ? e.code.slice(0, 128) : null,
          clears_in: Number.isSafeInteger(e.clears_in) && e.clears_in >= 0 ? e.clears_in : null,
        };
        return { error: typed ? typedError(e, error) : error, challenge: false };
      }
    } catch {
      // not JSON: the status speaks
    }
    return { error: null, challenge: false };
  }

  const segments = (p) => p.replace(/\/+$/, '').split('/');

  function create(adapter, host) {
    const endpoints = (adapter.endpoints ?? []).map((e) => ({
      kind: e.kind,
      method: (e.method ?? '').toUpperCase(),
      parts: segments(e.path).map((p) => (p.startsWith('{') && p.endsWith('}') ? null : p)),
    }));
    const timing = adapter.timing ?? {};
    const grace = timing.resume_grace_ms ?? 0;
    const recoveringSel = adapter.selectors?.recovering ?? '';
    const typed = typeof adapter.site === 'string' && adapter.site !== 'chatgpt';
    const pending = new Map(); // hook request id -> request
    let lastPrompt = null;
    // The turn in flight: from a send (or a resume the page starts) until the worker says how it
    // ended, the send fails, or the page stops it. `lastAt`: its last sign of life.
    let turn = null; // {lastAt, started, stalled}
    let watchdog = 0;

    function endpointOf(method, path) {
      for (const e of endpoints) {
        if (e.method && e.method !== method) continue;
        if (e.parts.length !== path.length) continue;
        let ok = true;
        for (let i = 0; i < e.parts.length && ok; i++) ok = e.parts[i] === null ? path[i] !== '' : e.parts[i] === path[i];
        if (ok) return e.kind;
      }
      return 'other';
    }

    // A request that went well says something only while a failure shows (it may be the recovery).
    function network(req, fields) {
      const fine = !fields.failed && !(fields.status >= 400) && !fields.error && !fields.challenge;
      if (fine && !host.failing()) return;
      host.send({
        type: 'network', endpoint: req.endpoint, status: null, failed: false, retry_after: null,
        challenge: false, error: null, ...fields,
      });
    }

    // ---- the stall watch ----
    const limit = () => (turn.started ? timing.stall_ms : timing.no_start_ms) + grace;
    const recovering = () => {
      if (!recoveringSel) return false;
      try {
        const el = document.querySelector(recoveringSel);
        return !!el && (typeof el.checkVisibility !== 'function' || el.checkVisibility());
      } catch {
        return false;
      }
    };
    function check() {
      if (!turn) {
        clearInterval(watchdog);
        watchdog = 0;
        return;
      }
      const now = performance.now();
      const quiet = now - turn.lastAt;
      if (turn.stalled || quiet < limit()) return;
      if (recovering()) {
        turn.lastAt = now; // the page shows it is still waiting for the answer
        return;
      }
      turn.stalled = true;
      host.send({ type: 'stall', phase: turn.started ? 'stalled' : 'no_start', ms: Math.round(quiet) });
    }
    function arm() {
      if (watchdog) return;
      const every = Math.max(50, Math.min(1000, timing.stall_ms / 4, timing.no_start_ms / 4));
      watchdog = setInterval(check, every);
    }
    function startTurn(started) {
      turn = { lastAt: performance.now(), started, stalled: false };
      arm();
    }
    // A sign of life of the turn; `bytes`: part of its answer arrived.
    function alive(bytes) {
      if (!turn) return;
      turn.lastAt = performance.now();
      turn.started ||= bytes;
      turn.stalled = false;
    }
    function endTurn() {
      turn = null;
    }

    function fact(d) {
      if (d.kind === 'request_start') {
        if (pending.has(d.id) || pending.size >= MAX_PENDING) return;
        const endpoint = endpointOf(d.method, segments(d.path));
        if (endpoint === 'other') return;
        pending.set(d.id, { id: d.id, path: d.path, method: d.method, endpoint, streaming: false });
        if (endpoint === 'conversation_send' && d.method === 'WEBSOCKET') {
          // A socket on the send path (Copilot's) stays open between answers: each answer the page
          // asks for on it is its own request (method 'MESSAGE', page-hook.js), and starts the watch.
        } else if (endpoint === 'conversation_send') {
          if (typeof d.prompt === 'string' && d.prompt) lastPrompt = d.prompt;
          startTurn(false);
          // An answer on a socket this hook watches: its messages are its progress already (the
          // capture hook's frames also hold the page's own send, which is no sign of an answer).
          turn.socket = d.method === 'MESSAGE';
        } else if (endpoint === 'conversation_resume') {
          // The page resumes an answer (after a handoff, a cut, a silence, its own stop).
          if (turn) alive(false);
          else startTurn(true);
        } else {
          alive(false); // polling the stream's status, reading the conversation: still waiting
        }
        return;
      }
      const req = pending.get(d.id);
      if (!req || req.path !== d.path || (d.method && d.method !== req.method)) return;
      const send = req.endpoint === 'conversation_send';
      switch (d.kind) {
        case 'request_failed':
          pending.delete(d.id);
          if (send && !d.aborted) endTurn();
          if (!d.aborted) network(req, { failed: true });
          host.settled();
          break;
        case 'response':
          if (d.status >= 400) {
            pending.delete(d.id);
            if (send) endTurn();
            const body = bodyError(d.detail, typed);
            network(req, {
              status: d.status, retry_after: d.retry_after ?? null, challenge: !!d.challenge || body.challenge, error: body.error,
            });
            host.settled();
          } else if (!d.streaming) {
            pending.delete(d.id);
            if (send) endTurn();
            // A successful send clears everything; other endpoints only matter while a failure shows.
            if (send || host.failing()) network(req, { status: d.status });
            host.settled();
          } else if (!req.streaming) {
            req.streaming = true;
            host.streamStarted();
          }
          break;
        case 'stream_progress':
          if (req.streaming) alive(true);
          break;
        case 'stream_end':
          if (!req.streaming) return;
          pending.delete(d.id);
          host.streamEnded();
          // The page stopped reading (its stop button, or before its own resume, which starts the
          // watch again): nothing is overdue. A send's own response broken off by the connection
          // on a site that never resumes an answer (its adapter gives no resume grace): the send
          // failed, nothing more will come (a socket kept open between answers may drop while idle:
          // its page's words and the stall watch speak for it). Otherwise the worker says how the
          // turn ended.
          if (d.how === 'abort' && (send || req.endpoint === 'conversation_resume')) endTurn();
          else if (d.how === 'error' && send && grace === 0 && req.method === 'POST') {
            endTurn();
            network(req, { failed: true });
          } else if (d.how === 'eof' && send && grace === 0 && req.method === 'POST') {
            // Ended cleanly on a site that never resumes an answer: nothing more will come, so
            // nothing is overdue (whatever end marker the worker's decoder did or did not see:
            // those are guesses outside ChatGPT, and a wrong one must not become a stall later).
            endTurn();
          } else alive(false);
          host.settled();
          break;
        default:
          break;
      }
    }

    return {
      fact,
      /** Part of the turn's answer arrived on another path (the socket, as the capture hook saw it). */
      activity: () => {
        if (!turn?.socket) alive(true);
      },
      /** The worker decoded how the turn ended: 'done' | 'error' end the watch; 'handoff' and
       * 'truncated' leave it running (the answer continues elsewhere, or the page resumes it). */
      turnEnded(end) {
        if (end === 'done' || end === 'error') endTurn();
        else if (end === 'handoff' && !turn) startTurn(true); // the page stopped its read; the answer goes on
        else alive(false);
      },
      sendInFlight() {
        for (const r of pending.values()) if (r.endpoint === 'conversation_send') return true;
        return false;
      },
      lastPrompt: () => lastPrompt,
      stop() {
        clearInterval(watchdog);
        watchdog = 0;
        pending.clear();
        turn = null;
      },
    };
  }

  return { create, validFact };
})();
