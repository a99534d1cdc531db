// A person's gesture, as a frame on someone else's page can tell it (the rescue frame, embedded in a
// chat page). The page cannot reach into this cross-origin frame: it cannot read, click or focus
// its controls. What it can still do is restyle or move the frame itself: make it transparent and
// lay it under its own Send button (clickjacking), or focus the frame so the user's next key press
// lands in it (focus hijack). This module answers both:
// - a control acts only on a trusted event (`isTrusted`, and the frame's user activation), and only
//   when the browser has seen it visible for at least `MIN_VISIBLE_MS`: with Intersection
//   Observer v2 (Chromium) "visible" means unoccluded, fully opaque and untransformed (the browser's
//   own judgement, which a page cannot fake); where the browser lacks v2 (Firefox) it means on
//   screen, which stops a control moved under the pointer at the last moment but not an opacity
//   trick (SECURITY.md says so);
// - when the frame loses focus, the focused control is blurred: a page that focuses the frame
//   later finds nothing focused inside it, so a key press does nothing until the user moves focus
//   to a control themselves (Tab).
// A guarded control carries `data-armed="true"` while a click on it would act.

import '../i18n.js';

const { t } = globalThis.understudyI18n;

export const MIN_VISIBLE_MS = 300;

const V2 = typeof IntersectionObserverEntry === 'function' && 'isVisible' in IntersectionObserverEntry.prototype;
const since = new WeakMap(); // element -> performance.now() when it became visible, or null
const timers = new WeakMap();

function arm(el, at) {
  since.set(el, at);
  clearTimeout(timers.get(el));
  el.removeAttribute('data-armed');
  if (at === null) return;
  const wait = Math.max(0, MIN_VISIBLE_MS - (performance.now() - at));
  timers.set(el, setTimeout(() => {
    if (since.get(el) === at) el.setAttribute('data-armed', 'true');
  }, wait));
}

function seen(entries) {
  for (const e of entries) {
    const visible = V2 ? e.isVisible === true : e.isIntersecting && e.intersectionRatio >= 0.99;
    if (!visible) arm(e.target, null);
    else if (since.get(e.target) == null) arm(e.target, performance.now());
  }
}

const observer = V2
  ? new IntersectionObserver(seen, { threshold: [0, 0.99, 1], trackVisibility: true, delay: 100 })
  : new IntersectionObserver(seen, { threshold: [0, 0.99, 1] });

/** Watches a control's visibility (call once per control; a hidden control is simply not visible). */
export function guard(el) {
  since.set(el, null);
  observer.observe(el);
  return el;
}

/**
 * Why a click (or key) on a guarded control must not act, or null when it may. Untrusted events,
 * events without the frame's user activation, and controls not yet seen visible long enough are
 * refused.
 */
export function refusal(event, el) {
  if (!event?.isTrusted) return t('frame_gesture_not_person');
  if (navigator.userActivation && !navigator.userActivation.isActive) return t('frame_gesture_not_person');
  const at = since.get(el);
  if (at == null || performance.now() - at < MIN_VISIBLE_MS) {
    return t('frame_gesture_covered');
  }
  return null;
}

/** Blurs whatever is focused in this frame when the frame loses focus (see above). */
export function dropFocusOnLeave() {
  window.addEventListener('blur', () => {
    const a = document.activeElement;
    if (a && a !== document.body) a.blur();
  });
}

/** Whether this browser judges occlusion and opacity itself (Intersection Observer v2). */
export const judgesOcclusion = V2;
