// The fake ChatGPT page's two DOM renderers (both live on the real site in 2026):
// - legacy: one `section[data-testid="conversation-turn-N"][data-turn=role]` per message, holding
//   `[data-message-author-role][data-message-id]`, the answer in `.markdown.prose`;
// - search-unit: one `[data-turn-key=<user message id>]` root per exchange holding the user bubble
//   (`[data-user-message-bubble="true"]`) and the answer (`[data-chatgpt-selection-message-id]` >
//   `[data-markdown-text-style="assistant-message"]`), no data-message-author-role.
// An entry is {role, id, text, error, errorButton, recovering, state}: `add(entry)` draws it,
// `update(entry)` redraws it. `error` shows ChatGPT's error box in the turn, followed by the button
// `errorButton` says ('retry' (default): "Retry" (regenerate-thread-error-button), 'new-chat':
// "Start new chat", 'none'); `recovering` shows the recovery status in the turn while true.
// `window` N keeps only the last N turn roots in the DOM (older ones are dropped, as on long chats).

function errorBox(text, button = 'retry') {
  const box = document.createElement('div');
  box.className = 'text-token-text-error';
  box.setAttribute('role', 'alert');
  box.textContent = text;
  if (button === 'none') return [box];
  const b = document.createElement('button');
  b.type = 'button';
  if (button === 'new-chat') {
    b.textContent = 'Start new chat';
    b.addEventListener('click', () => location.assign('/'));
  } else {
    b.dataset.testid = 'regenerate-thread-error-button';
    b.textContent = 'Retry';
  }
  return [box, b];
}

/** The page's recovery status: `div[role="status"] > span.text-chatgpt-recovery`. */
function recoveryStatus() {
  const status = document.createElement('div');
  status.setAttribute('role', 'status');
  status.className = 'recovery';
  const span = document.createElement('span');
  span.className = 'text-chatgpt-recovery';
  span.textContent = 'Connection interrupted. Waiting for the complete answer';
  status.append(span);
  return status;
}

/** Shows or removes the recovery status of `entry` in `container`. */
function recovery(entry, container) {
  const v = entry.view;
  if (entry.recovering && !v.recovery) {
    v.recovery = recoveryStatus();
    container.append(v.recovery);
  } else if (!entry.recovering && v.recovery) {
    v.recovery.remove();
    v.recovery = null;
  }
}

function base(thread, windowSize) {
  let turn = 0;
  return {
    next: () => ++turn,
    reset() {
      turn = 0;
      thread.replaceChildren();
    },
    trim(isRoot) {
      if (!(windowSize > 0)) return;
      const roots = [...thread.children].filter(isRoot);
      for (const r of roots.slice(0, Math.max(0, roots.length - windowSize))) r.remove();
    },
  };
}

function legacy(thread, windowSize) {
  const b = base(thread, windowSize);
  const isRoot = (el) => el.matches('section[data-testid^="conversation-turn-"]');
  return {
    clear: b.reset,
    add(entry) {
      const n = b.next();
      const section = document.createElement('section');
      section.dataset.testid = `conversation-turn-${n}`;
      section.dataset.turn = entry.role;
      section.className = 'turn';
      const message = document.createElement('div');
      message.dataset.messageAuthorRole = entry.role;
      message.dataset.messageId = entry.id ?? `msg-${n}`;
      const body = document.createElement('div');
      body.className = entry.role === 'assistant' ? 'markdown prose' : 'whitespace-pre-wrap';
      message.append(body);
      section.append(message);
      thread.append(section);
      entry.view = { section, message, body, errors: [] };
      this.update(entry);
      b.trim(isRoot);
    },
    update(entry) {
      const v = entry.view;
      if (!v) return;
      if (entry.id) v.message.dataset.messageId = entry.id;
      if (v.body.textContent !== entry.text) v.body.textContent = entry.text;
      if (entry.state) v.section.dataset.talvtTurnState = entry.state;
      else delete v.section.dataset.talvtTurnState;
      recovery(entry, v.section);
      if (entry.error && !v.errors.length) {
        v.errors = errorBox(entry.error, entry.errorButton);
        v.section.append(...v.errors);
      }
    },
  };
}

function searchUnit(thread, windowSize) {
  const b = base(thread, windowSize);
  const isRoot = (el) => el.hasAttribute('data-turn-key');
  let last = null; // the latest root and whether it has its answer
  const unit = (id, n, idx, role) => {
    const u = document.createElement('div');
    u.className = `unit unit-${role}`;
    if (id) {
      u.dataset.chatgptSearchUnitKey = `${id}:${idx}`;
      u.dataset.chatgptSearchMessageIds = id;
    } else {
      u.dataset.contentSearchUnitKey = `fallback-turn-${n}:${idx}:${role}`;
    }
    return u;
  };
  const root = (key, n) => {
    const r = document.createElement('div');
    r.className = 'turn';
    r.dataset.turnKey = key;
    thread.append(r);
    last = { root: r, n, answered: false };
    return last;
  };
  return {
    clear() {
      b.reset();
      last = null;
    },
    add(entry) {
      if (entry.role === 'user') {
        const n = b.next();
        const t = root(entry.id ?? `fallback-${n}`, n);
        const u = unit(entry.id, n, 0, 'user');
        const bubble = document.createElement('div');
        bubble.dataset.userMessageBubble = 'true';
        const body = document.createElement('div');
        body.className = 'whitespace-pre-wrap';
        bubble.append(body);
        u.append(bubble);
        t.root.append(u);
        entry.view = { root: t.root, unit: u, message: null, body, errors: [] };
      } else {
        const t = last && !last.answered ? last : root(`fallback-${b.next()}`, 0);
        t.answered = true;
        const u = unit(entry.id, t.n, 1, 'assistant');
        const message = document.createElement('div');
        message.dataset.chatgptSelectionMessageId = entry.id ?? '';
        const body = document.createElement('div');
        body.dataset.markdownTextStyle = 'assistant-message';
        body.className = 'prose';
        message.append(body);
        u.append(message);
        t.root.append(u);
        entry.view = { root: t.root, unit: u, message, body, errors: [] };
      }
      this.update(entry);
      b.trim(isRoot);
    },
    update(entry) {
      const v = entry.view;
      if (!v) return;
      if (entry.id && v.message) {
        v.message.dataset.chatgptSelectionMessageId = entry.id;
        v.unit.dataset.chatgptSearchUnitKey = `${entry.id}:1`;
        v.unit.dataset.chatgptSearchMessageIds = entry.id;
      }
      if (v.body.textContent !== entry.text) v.body.textContent = entry.text;
      if (entry.role === 'assistant') {
        if (entry.state) v.root.dataset.talvtTurnState = entry.state;
        else delete v.root.dataset.talvtTurnState;
      }
      if (entry.role === 'assistant') recovery(entry, v.unit);
      if (entry.error && !v.errors.length) {
        v.errors = errorBox(entry.error, entry.errorButton);
        v.unit.append(...v.errors);
      }
    },
  };
}

export function createRenderer(kind, thread, { window: windowSize = 0 } = {}) {
  return kind === 'search-unit' ? searchUnit(thread, windowSize) : legacy(thread, windowSize);
}
