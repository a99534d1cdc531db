// The fake chatgpt.com's conversations in memory, kept in the export's shape (a `mapping` tree), and
// the two ways the site hands them out: the singular GET (the tree, as it is) and the plural, paged
// GET of 2026 (the current branch in order, `num_turns` turns per page, older pages by cursor).
import crypto from 'node:crypto';

/**
 * A small export-shaped conversation, as GET /backend-api/conversation/<id> returns it: one exchange
 * (`question`, `answer`), or `turns` ([[question, answer], ...]; nodes <id>-u<n> and <id>-a<n>).
 */
export function sampleConversation(id, { title = 'Trip planning for Lisbon', question = 'What should I see in Lisbon?', answer = 'Start in **Alfama**, then take tram 28.', turns = null } = {}) {
  const t = 1767225600;
  const msg = (mid, role, text, dt) => ({
    id: mid, author: { role, name: null, metadata: {} }, create_time: t + dt, update_time: null,
    content: { content_type: 'text', parts: [text] }, status: 'finished_successfully', end_turn: role === 'assistant' ? true : null,
    weight: 1, metadata: role === 'assistant' ? { model_slug: 'gpt-4o' } : {}, recipient: 'all',
  });
  const pairs = Array.isArray(turns) && turns.length ? turns : [[question, answer]];
  const mapping = { [`${id}-root`]: { id: `${id}-root`, parent: null, children: [], message: null } };
  let parent = `${id}-root`;
  pairs.forEach(([q, a], i) => {
    const u = `${id}-u${i + 1}`;
    const an = `${id}-a${i + 1}`;
    mapping[parent].children.push(u);
    mapping[u] = { id: u, parent, children: [an], message: msg(u, 'user', q, 2 * i + 1) };
    mapping[an] = { id: an, parent: u, children: [], message: msg(an, 'assistant', a, 2 * i + 2) };
    parent = an;
  });
  return {
    id, conversation_id: id, title, create_time: t, update_time: t + 60 * pairs.length, current_node: parent,
    default_model_slug: 'gpt-4o', is_archived: false, mapping,
  };
}

/** A new, empty export-shaped conversation (a root node only). */
export function emptyConversation(id, title, now = Date.now() / 1000) {
  const root = crypto.randomUUID();
  return {
    id, conversation_id: id, title, create_time: now, update_time: now, current_node: root,
    default_model_slug: 'gpt-5-6', is_archived: false,
    mapping: { [root]: { id: root, parent: null, children: [], message: null } },
  };
}

/** Adds `message` under `parent` (the current node when unknown) and makes it the current node. */
export function addNode(conv, parent, message) {
  const p = conv.mapping[parent] ? parent : conv.current_node;
  conv.mapping[message.id] = { id: message.id, parent: p, children: [], message };
  conv.mapping[p]?.children.push(message.id);
  conv.current_node = message.id;
  conv.update_time = Date.now() / 1000;
  return message.id;
}

/** The nodes from the root to the current node. */
export function branch(conv) {
  const line = [];
  const seen = new Set();
  for (let id = conv.current_node; id && conv.mapping?.[id] && !seen.has(id); id = conv.mapping[id].parent) {
    seen.add(id);
    line.unshift(conv.mapping[id]);
  }
  return line;
}

const visibleUser = (m) => m.author?.role === 'user' && ['text', 'multimodal_text'].includes(m.content?.content_type)
  && !m.metadata?.is_visually_hidden_from_conversation;

const cursor = (turn) => Buffer.from(JSON.stringify({ t: turn })).toString('base64url');
function readCursor(c, fallback) {
  try {
    const t = JSON.parse(Buffer.from(String(c), 'base64url').toString('utf8')).t;
    return Number.isInteger(t) && t >= 0 ? t : fallback;
  } catch {
    return fallback;
  }
}

/**
 * The current branch as the plural GET lists it: messages in order, each with `metadata.parent_id`
 * (the message before it) and `turn_exchange_id`, grouped in turns (a turn starts at a visible user
 * message; what comes before the first one belongs to it). A conversation whose branch has no
 * context echo gets a hidden system message and a `user_editable_context` message at its start, as
 * every real conversation body has.
 */
export function turnsOf(conv) {
  const nodes = branch(conv);
  const rootId = nodes[0]?.message ? null : nodes[0]?.id ?? null;
  const messages = nodes.filter((n) => n.message).map((n) => structuredClone(n.message));
  if (!messages.some((m) => m.content?.content_type === 'user_editable_context')) {
    const id = conv.id ?? conv.conversation_id;
    const hidden = { is_visually_hidden_from_conversation: true };
    messages.unshift(
      { id: `${id}-system`, author: { role: 'system', name: null, metadata: {} }, create_time: null, update_time: null, content: { content_type: 'text', parts: [''] }, status: 'finished_successfully', end_turn: null, weight: 0, metadata: { ...hidden }, recipient: 'all', channel: null },
      { id: `${id}-context`, author: { role: 'user', name: null, metadata: {} }, create_time: conv.create_time ?? null, update_time: null, content: { content_type: 'user_editable_context', user_profile: 'The user provided the following information about themselves. ECHO-PROFILE-SECRET: Mara, a nurse in Porto.', user_instructions: 'ECHO-PROFILE-SECRET-INSTRUCTIONS: be brief.' }, status: 'finished_successfully', end_turn: null, weight: 1, metadata: { ...hidden }, recipient: 'all', channel: null },
    );
  }
  const turns = [];
  for (const m of messages) {
    if (!turns.length || (visibleUser(m) && turns.at(-1).some(visibleUser))) turns.push([]);
    turns.at(-1).push(m);
  }
  let parent = rootId;
  for (const turn of turns) {
    const te = `te-${(turn.find(visibleUser) ?? turn[0]).id}`;
    for (const m of turn) {
      m.metadata = { ...m.metadata, parent_id: parent, turn_exchange_id: m.metadata?.turn_exchange_id ?? te };
      m.update_time ??= m.create_time ?? null;
      m.channel ??= m.author?.role === 'assistant' && m.recipient === 'all' && m.content?.content_type === 'text' ? 'final' : null;
      parent = m.id;
    }
  }
  return turns;
}

/** One page of turns before turn `before` (default: the newest page). */
export function page(conv, { numTurns = 10, before = null } = {}) {
  const turns = turnsOf(conv);
  const end = before == null ? turns.length : Math.min(readCursor(before, turns.length), turns.length);
  const n = Math.max(1, Number.isInteger(numTurns) ? numTurns : 10);
  const start = Math.max(0, end - n);
  return {
    messages: turns.slice(start, end).flat(),
    page_info: {
      start_cursor: end > start ? cursor(start) : null,
      end_cursor: end > start ? cursor(end - 1) : null,
      has_previous_page: start > 0,
      has_next_page: end < turns.length,
    },
  };
}

/** The plural GET's body: the newest page and the conversation's fields. */
export function pluralBody(conv, { numTurns, temporary = false, doNotRemember = false } = {}) {
  const { messages, page_info } = page(conv, { numTurns });
  const id = conv.conversation_id ?? conv.id;
  return {
    conversation_id: id, title: conv.title ?? null, create_time: conv.create_time ?? null, update_time: conv.update_time ?? null,
    current_node: conv.current_node ?? null, messages, page_info,
    is_do_not_remember: doNotRemember || conv.is_do_not_remember === true,
    is_temporary_chat: temporary || conv.is_temporary_chat === true,
    default_model_slug: conv.default_model_slug ?? 'gpt-5-6', is_archived: conv.is_archived ?? false, is_starred: null,
    gizmo_id: conv.gizmo_id ?? null, gizmo_type: null, conversation_origin: null, safe_urls: [], blocked_urls: [],
    memory_scope: 'global_enabled', context_scopes: null, sugar_item_id: null, owner: null,
  };
}

/** The singular GET's body: the tree as kept, with the temporary marks only when set. */
export function singularBody(conv, { temporary = false, doNotRemember = false } = {}) {
  const out = { ...conv };
  if (temporary) out.is_temporary_chat = true;
  if (doNotRemember) out.is_do_not_remember = true;
  return out;
}

/** A title the way the title model makes one from a first prompt: its first few words, capitalised. */
export function titleOf(prompt) {
  const words = String(prompt).replace(/[^\p{L}\p{N}\s'-]/gu, ' ').split(/\s+/).filter(Boolean).slice(0, 5);
  if (!words.length) return 'New chat';
  return words.map((w) => w[0].toUpperCase() + w.slice(1)).join(' ');
}
