//# allFunctionsCalledOnLoad
/*
 * Understudy: pure DOM extraction for the content script (no side effects, no innerHTML).
 *
 * UnderstudyObserve.extract(document, adapter) returns one DOM observation for the core:
 *
 *   {
 *     "type": "dom",
 *     "errors": [                              // visible error elements, document order, at most limits.max_errors
 *       { "region": "turn" | "toast" | "banner" | "page",
 *         "structural": true | false,          // true: matched selectors.error (unknown text = unknown_error)
 *         "text": "..." }                      // textContent, at most limits.max_text characters
 *     ],
 *     "latest_turn": null | {
 *       "role": null | "user" | "assistant" | "system" | "tool",
 *       "has_answer": bool,                    // a visible message body with text
 *       "answer_after_error": bool             // ... that comes after the last error box of the turn
 *     },
 *     "retry_button": bool,                    // regenerate-after-error button visible
 *     "streaming": bool,                       // stop button visible
 *     "signed_out": bool,                      // login button visible
 *     "page_error": null | {                   // only on a page with no turn and no composer
 *       "source": "cloudflare" | "challenge" | "json",
 *       "status": null | 502,
 *       "text": "...",                         // title (+ first h1), or the JSON detail message
 *       "code": null | "conversation_not_found",
 *       "clears_in": null | 1800
 *     },
 *     "tz_offset_min": 60                      // minutes east of UTC
 *   }
 *
 * Regions: "turn" = an error box inside the latest turn; "page" = an error box outside every turn and
 * after the latest one, or (structural false) a heading/paragraph of a page that replaced the app;
 * "toast" / "banner" = alert regions. Errors in earlier turns are skipped. Nothing inside
 * selectors.excluded (message bodies, code, composer, history, the user's own text) counts, and
 * hidden elements never count. The same rules are implemented natively in src/detect/extract.rs.
 *
 * The adapter is the JSON the core gives (detect::adapter_json): { site, version, hosts,
 * selectors: { turn, role, role_attr, turn_role_attr, error, toast, banner, retry_button,
 * login_button, stop_button, composer, message_body, excluded, cloudflare, challenge, page_message },
 * endpoints, timing, limits: { max_text, max_errors } }.
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
    const excluded = (el) => within(el, s.excluded) !== null;

    const out = {
      type: 'dom',
      errors: [],
      latest_turn: null,
      retry_button: false,
      streaming: false,
      signed_out: false,
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

    // Error boxes, toasts and banners, in document order.
    const regionSel = [s.error, s.toast, s.banner].filter(Boolean).join(', ');
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
        push(el, is(el, s.toast) ? 'toast' : 'banner', false);
      }
    }

    const anyVisible = (sel, pred) => all(doc, sel).some((el) => visible(el) && (!pred || pred(el)));
    out.retry_button = anyVisible(s.retry_button, (el) => !excluded(el) && !inEarlierTurn(el));
    out.streaming = anyVisible(s.stop_button, (el) => !excluded(el));
    out.signed_out = anyVisible(s.login_button, (el) => !excluded(el));

    if (latest) {
      let role = s.turn_role_attr ? latest.getAttribute(s.turn_role_attr) : null;
      const roleEls = all(latest, s.role);
      if (roleEls.length) role = roleEls[roleEls.length - 1].getAttribute(s.role_attr);
      else if (is(latest, s.role)) role = latest.getAttribute(s.role_attr);
      role = role ? role.trim() : null;
      let hasAnswer = false;
      let afterError = false;
      for (const body of all(latest, s.message_body)) {
        if (!visible(body) || !(body.textContent || '').trim()) continue;
        hasAnswer = true;
        if (lastTurnError && !lastTurnError.contains(body) &&
            (lastTurnError.compareDocumentPosition(body) & FOLLOWING)) afterError = true;
      }
      out.latest_turn = {
        role: ['user', 'assistant', 'system', 'tool'].includes(role) ? role : null,
        has_answer: hasAnswer,
        answer_after_error: afterError,
      };
    } else if (!first(doc, s.composer)) {
      out.page_error = UnderstudyObserve.pageError(doc, s, maxText, collapse);
      if (!out.page_error) {
        for (const el of all(doc, s.page_message)) {
          if (within(el, regionSel) || excluded(el) || !visible(el)) continue;
          push(el, 'page', false);
        }
      }
    }
    return out;
  },

  /** A whole-page error document (Cloudflare error or challenge page, bare JSON body), or null. */
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
