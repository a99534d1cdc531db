//# allFunctionsCalledOnLoad
/*
 * Understudy: pure DOM extraction for the content script (no side effects, no innerHTML).
 *
 * UnderstudyObserve.extract(document, adapter) returns one DOM observation for the core:
 *
 *   {
 *     "type": "dom",
 *     "errors": [                              // visible error elements, document order, at most limits.max_errors
 *       { "region": "turn" | "toast" | "banner" | "dialog" | "page",
 *         "structural": true | false,          // true: matched selectors.error (unknown text = unknown_error)
 *         "text": "..." }                      // textContent, at most limits.max_text characters
 *     ],
 *     "latest_turn": null | {
 *       "role": null | "user" | "assistant" | "system" | "tool",
 *       "has_answer": bool,                    // a visible (innermost) message body with text
 *       "answer_after_error": bool             // ... that comes after the last error box of the turn
 *     },
 *     "retry_button": bool,                    // regenerate-after-error button visible
 *     "streaming": bool,                       // stop button visible
 *     "signed_out": bool,                      // login button visible and no composer
 *     "recovering": bool,                      // the page's own recovery status visible
 *     "page_error": null | {                   // only on a page with no turn and no composer
 *       "source": "cloudflare" | "challenge" | "json" | "http",
 *       "status": null | 502,
 *       "text": "...",                         // title (+ first h1), or the JSON detail message
 *       "code": null | "conversation_not_found",
 *       "clears_in": null | 1800
 *     },
 *     "tz_offset_min": 60                      // minutes east of UTC
 *   }
 *
 * Turns: the outermost elements matching selectors.turn, in both renderers (legacy sections or
 * articles, and the search-unit renderer's [data-turn-key] roots, each holding the user and the
 * assistant message); the latest is the last visible one. Long chats are windowed (only the last
 * turns are in the page): an error in an earlier turn is history either way. The latest turn's role
 * is its last role element's role_attr (else the turn's turn_role_attr); without either (the
 * search-unit renderer has no data-message-author-role), "assistant" when it holds a message_body,
 * "user" when it holds only a user_message.
 *
 * Regions: "turn" = an error box inside the latest turn; "page" = an error box outside every turn and
 * after the latest one, or (structural false) a heading/paragraph of a page that replaced the app;
 * "dialog" / "toast" / "banner" = modal dialogs and alert regions (only known text counts). Errors in
 * earlier turns are skipped; an element inside one already counted (a dialog's alert) is counted with
 * it. Nothing inside selectors.excluded (message bodies, code, composer, history) or
 * selectors.user_message (the user's own text) counts, and hidden elements never count.
 *
 * A page with no turn and no composer may be a failed document: a challenge, a Cloudflare error
 * page, a bare JSON error body, or a bare server error page whose title or first h1 starts with
 * its status ("503 Service Temporarily Unavailable": source "http"). The navigation's own status
 * (performance navigation entry, responseStatus) completes it: at 500 or more, a page with no chat
 * is a page error even when its markup is unknown (source "http"), and from 400 a json, cloudflare
 * or http page error whose markup states no status takes it. The same rules (the navigation status aside:
 * a saved page has only its markup) are implemented natively in src/detect/extract.rs.
 *
 * The adapter is the JSON the core gives (detect::adapter_json): { site, version, hosts,
 * selectors: { turn, role, role_attr, turn_role_attr, error, toast, banner, retry_button,
 * login_button, stop_button, composer, message_body, excluded, cloudflare, challenge, page_message,
 * dialog, recovering, user_message }, endpoints, timing, limits: { max_text, max_errors } }.
 */
const UnderstudyObserve = {
  extract(doc, adapter) {
    const s = adapter.selectors;
    const limits = adapter.limits || {};
    const maxText = limits.max_text || 4096;
    const maxErrors = limits.max_errors || 16;
    const FOLLOWING = 4; // Node.DOCUMENT_POSITION_FOLLOWING
    const PRECEDING = 2; // Node.DOCUMENT_POSITION_PRECEDING

    const all = (root, sel) => {
      if (!sel || !root) return [];
      try { return Array.from(root.querySelectorAll(sel)); } catch (_) { return []; }
    };
    const first = (root, sel) => {
      if (!sel || !root) return null;
      try { return root.querySelector(sel); } catch (_) { return null; }
    };
    const is = (el, sel) => {
      if (!sel || !el) return false;
      try { return el.matches(sel); } catch (_) { return false; }
    };
    const within = (el, sel) => {
      if (!sel || !el) return null;
      try { return el.closest(sel); } catch (_) { return null; }
    };
    const text = (el) => (el.textContent || '').slice(0, maxText);
    const collapse = (t) => t.replace(/\s+/g, ' ').trim();
    const view = doc.defaultView;
    const visible = (el) => {
      if (el.closest('[hidden],[aria-hidden="true"],template,noscript')) return false;
      if (typeof el.checkVisibility === 'function') {
        return el.checkVisibility({ checkVisibilityCSS: true, visibilityProperty: true });
      }
      if (el.offsetParent !== null) return true;
      const cs = view ? view.getComputedStyle(el) : null;
      return !!cs && cs.display !== 'none' && cs.visibility !== 'hidden' && cs.position === 'fixed';
    };
    const excluded = (el) => within(el, s.excluded) !== null || within(el, s.user_message) !== null;

    const out = {
      type: 'dom',
      errors: [],
      latest_turn: null,
      retry_button: false,
      streaming: false,
      signed_out: false,
      recovering: false,
      page_error: null,
      tz_offset_min: -new Date().getTimezoneOffset(),
    };
    const push = (el, region, structural) => {
      if (out.errors.length >= maxErrors) return;
      const t = text(el);
      if (t.trim()) out.errors.push({ region, structural, text: t });
    };

    // The latest visible, outermost turn.
    let latest = null;
    const turns = all(doc, s.turn);
    for (let i = turns.length - 1; i >= 0; i--) {
      const t = turns[i];
      if ((!t.parentElement || !within(t.parentElement, s.turn)) && visible(t)) { latest = t; break; }
    }
    const inEarlierTurn = (el) => within(el, s.turn) !== null && !(latest && latest.contains(el));

    // Error boxes, dialogs, toasts and banners, in document order.
    const regionSel = [s.error, s.dialog, s.toast, s.banner].filter(Boolean).join(', ');
    let lastTurnError = null;
    for (const el of all(doc, regionSel)) {
      const parent = el.parentElement;
      if (parent && within(parent, regionSel)) continue; // counted with its container
      if (excluded(el) || !visible(el)) continue;
      if (is(el, s.error)) {
        if (latest && latest.contains(el)) {
          lastTurnError = el;
          push(el, 'turn', true);
        } else if (!inEarlierTurn(el) && !(latest && (latest.compareDocumentPosition(el) & PRECEDING))) {
          push(el, 'page', true);
        }
      } else if (!inEarlierTurn(el)) {
        push(el, is(el, s.dialog) ? 'dialog' : is(el, s.toast) ? 'toast' : 'banner', false);
      }
    }

    const anyVisible = (sel, pred) => all(doc, sel).some((el) => visible(el) && (!pred || pred(el)));
    out.retry_button = anyVisible(s.retry_button, (el) => !excluded(el) && !inEarlierTurn(el));
    out.streaming = anyVisible(s.stop_button, (el) => !excluded(el));
    // Signed out counts only where the page does not let one chat (logged-out chats work: a login
    // button beside a composer is not a block).
    out.signed_out = !first(doc, s.composer) && anyVisible(s.login_button, (el) => !excluded(el));
    out.recovering = anyVisible(s.recovering);

    if (latest) {
      const ROLES = ['user', 'assistant', 'system', 'tool'];
      let role = s.turn_role_attr ? latest.getAttribute(s.turn_role_attr) : null;
      const roleEls = [latest, ...all(latest, s.role)].filter((el) => is(el, s.role) && el.hasAttribute(s.role_attr));
      if (roleEls.length) role = roleEls[roleEls.length - 1].getAttribute(s.role_attr);
      role = role ? role.trim() : null;
      if (!ROLES.includes(role)) {
        // No role attribute (the search-unit renderer): the messages the turn holds say it.
        const holds = (sel) => is(latest, sel) || first(latest, sel) !== null;
        role = holds(s.message_body) ? 'assistant' : holds(s.user_message) ? 'user' : null;
      }
      let hasAnswer = false;
      let afterError = false;
      for (const body of all(latest, s.message_body)) {
        // The innermost bodies: an assistant message holding its body (and maybe an error box) is
        // not an answer by itself.
        if (first(body, s.message_body) || !visible(body) || !(body.textContent || '').trim()) continue;
        hasAnswer = true;
        if (lastTurnError && !lastTurnError.contains(body) &&
            (lastTurnError.compareDocumentPosition(body) & FOLLOWING)) afterError = true;
      }
      out.latest_turn = {
        role,
        has_answer: hasAnswer,
        answer_after_error: afterError,
      };
    } else if (!first(doc, s.composer)) {
      out.page_error = UnderstudyObserve.pageError(doc, s, maxText, collapse);
      // The navigation's own status: a document answered with an error and holding no chat.
      const status = UnderstudyObserve.navigationStatus(view);
      if (status !== null && status >= 400) {
        const p = out.page_error;
        // Unknown markup counts only for a server error (a 4xx app shell may still be loading).
        if (!p && status >= 500) {
          const title = collapse((doc.title || '').slice(0, 512));
          const h1 = first(doc, 'h1');
          const text = title || (h1 ? collapse((h1.textContent || '').slice(0, 512)) : '');
          out.page_error = { source: 'http', status, text, code: null, clears_in: null };
        } else if (p.status === null && p.source !== 'challenge') {
          p.status = status;
        }
      }
      if (!out.page_error) {
        for (const el of all(doc, s.page_message)) {
          if (within(el, regionSel) || excluded(el) || !visible(el)) continue;
          push(el, 'page', false);
        }
      }
    }
    return out;
  },

  /** The HTTP status the document itself was answered with, or null where the browser does not say. */
  navigationStatus(view) {
    try {
      const perf = view && view.performance;
      if (!perf || typeof perf.getEntriesByType !== 'function') return null;
      const nav = perf.getEntriesByType('navigation');
      const status = nav && nav[0] ? nav[0].responseStatus : undefined;
      return Number.isInteger(status) && status >= 100 && status <= 599 ? status : null;
    } catch (_) {
      return null;
    }
  },

  /** A 4xx/5xx status at the start of a title or heading ("503 Service Temporarily Unavailable"). */
  leadingStatus(text) {
    const m = /^([45]\d\d)[\s:.\-\u2013\u2014]+\p{Alphabetic}/u.exec(text);
    return m ? Number(m[1]) : null;
  },

  /**
   * A whole-page error document (Cloudflare error or challenge page, bare JSON body, bare server
   * error page), or null.
   */
  pageError(doc, s, maxText, collapse) {
    const title = collapse(doc.title || '');
    const one = (sel) => { try { return sel ? doc.querySelector(sel) : null; } catch (_) { return null; } };
    if (one(s.challenge) || /^just a moment\b/i.test(title)) {
      return { source: 'challenge', status: null, text: title, code: null, clears_in: null };
    }
    const marker = one(s.cloudflare);
    const m = /\|\s*(\d{3}):/.exec(title.slice(title.lastIndexOf('|')));
    const titleStatus = m ? Number(m[1]) : null;
    if (marker || (titleStatus && titleStatus >= 100 && titleStatus <= 599)) {
      const body = marker ? collapse((marker.textContent || '').slice(0, maxText)) : '';
      const sm = /error (?:code|reference number)[\s:]*(\d{3})(?!\d)/i.exec(body);
      const h1 = doc.querySelector('h1');
      const heading = h1 ? collapse((h1.textContent || '').slice(0, 512)) : '';
      const text = title && heading ? `${title}. ${heading}` : (title || heading || body);
      return { source: 'cloudflare', status: titleStatus || (sm ? Number(sm[1]) : null), text, code: null, clears_in: null };
    }
    return UnderstudyObserve.jsonBody(doc, maxText) || UnderstudyObserve.httpPage(doc, title, collapse);
  },

  /** A bare server error page: its title, or else its first h1, starts with its status. */
  httpPage(doc, title, collapse) {
    const cut = title.slice(0, 512);
    let status = UnderstudyObserve.leadingStatus(cut);
    let text = cut;
    if (status === null) {
      const h1 = doc.querySelector('h1');
      text = h1 ? collapse((h1.textContent || '').slice(0, 512)) : '';
      status = UnderstudyObserve.leadingStatus(text);
    }
    return status === null ? null : { source: 'http', status, text, code: null, clears_in: null };
  },

  /** A page whose visible text is a bare JSON object with `detail` or `error`, or null. */
  jsonBody(doc, maxText) {
    const root = doc.body || doc.documentElement;
    if (!root) return null;
    let raw = '';
    const walker = doc.createTreeWalker(root, 4 /* NodeFilter.SHOW_TEXT */);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const p = n.parentElement;
      if (p && p.closest('script,style,template,title,head')) continue;
      raw += n.data;
      if (raw.length > 65536) return null;
    }
    const trimmed = raw.trim();
    if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return null;
    let value;
    try { value = JSON.parse(trimmed); } catch (_) { return null; }
    if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
    const field = 'detail' in value ? value.detail : value.error;
    if (typeof field === 'string') {
      return { source: 'json', status: null, text: field.slice(0, maxText), code: null, clears_in: null };
    }
    if (field && typeof field === 'object' && !Array.isArray(field)) {
      const msg = typeof field.message === 'string' ? field.message.slice(0, maxText) : '';
      const code = typeof field.code === 'string' ? field.code.slice(0, 128) : null;
      const clears = Number.isInteger(field.clears_in) && field.clears_in >= 0 ? field.clears_in : null;
      return { source: 'json', status: null, text: msg, code, clears_in: clears };
    }
    return null;
  },
};
