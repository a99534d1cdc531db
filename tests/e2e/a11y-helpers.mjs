// Accessibility checks shared by the end-to-end tests: axe-core run inside a page or a frame, and
// the colour arithmetic of WCAG 2.x (contrast of text and of focus indicators).
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './browser.mjs';

const AXE = fs.readFileSync(path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** The WCAG 2.0, 2.1 and 2.2 level A and AA rules (axe's tags). */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];
/** The impacts a test refuses. */
export const BLOCKING = ['serious', 'critical'];

/**
 * Runs axe in `target` (a Playwright page or frame) and returns {passed: [rule ids that found
 * nodes and passed], violations: [{id, impact, help, nodes: [{target, summary}]}]}. The script is evaluated through the DevTools
 * protocol, so neither an extension page's CSP nor the chat page's stops it. `include` scopes the
 * run (e.g. the notice's host: axe reads its shadow root); frames are judged each on their own.
 */
export async function axeViolations(target, { include = null, exclude = [] } = {}) {
  const has = await target.evaluate(() => typeof window.axe === 'object');
  if (!has) await target.evaluate(AXE);
  return target.evaluate(async ({ include, exclude, tags }) => {
    const context = include ? { include: [include], exclude } : exclude.length ? { exclude } : document;
    const result = await window.axe.run(context, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations'],
      iframes: false,
    });
    return {
      passed: result.passes.map((p) => p.id),
      violations: result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.map(String).join(' >> '), summary: n.failureSummary ?? '' })),
      })),
    };
  }, { include, exclude, tags: WCAG_TAGS });
}

/** The violations of impact serious or critical. */
export const blocking = (violations) => violations.filter((v) => BLOCKING.includes(v.impact));

/** Violations as lines a person can act on: id, impact, each target and what axe says to fix. */
export function describe(violations) {
  return violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n${v.nodes.map((n) => `  - ${n.target}\n    ${n.summary.replace(/\n/g, '\n    ')}`).join('\n')}`).join('\n');
}

// ---- colour ----

/** [r, g, b, a] of a computed CSS colour (`rgb(...)`, `rgba(...)`, `color(srgb ...)`), or null. */
export function parseColor(css) {
  let m = /^rgba?\(\s*([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)$/.exec(css ?? '');
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : m[4].endsWith('%') ? parseFloat(m[4]) / 100 : Number(m[4])];
  m = /^color\(srgb\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)(?:\s*\/\s*([\d.]+))?\)$/.exec(css ?? '');
  if (m) return [m[1] * 255, m[2] * 255, m[3] * 255, m[4] === undefined ? 1 : Number(m[4])];
  return null;
}

/** `top` painted over the opaque `bottom`. */
export function over(top, bottom) {
  const a = top[3];
  return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat(1);
}

function luminance([r, g, b]) {
  const lin = (v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** The WCAG contrast ratio of two opaque colours. */
export function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/**
 * What shows focus on the focused element of `target` (page or frame), looked up through open
 * shadow roots: {tag, testid, name, outline: {style, width, color}, boxShadow, background (the
 * first opaque background behind it, painted over the page's), own (its own background, or
 * null when transparent), rect}, or null when nothing but the body has focus.
 */
export function focusInfo(target) {
  return target.evaluate(() => {
    let el = document.activeElement;
    while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
    if (!el || el === document.body || el === document.documentElement) return null;
    // A visually hidden input shows its focus on its label (the file input behind "Import…").
    const shown = el.getBoundingClientRect().width <= 1 && el.id ? document.querySelector(`label[for="${CSS.escape(el.id)}"]`) ?? el : el;
    const style = getComputedStyle(shown);
    const backdrop = (start) => {
      const layers = [];
      for (let n = start; n; n = n.parentElement ?? n.getRootNode()?.host ?? null) {
        const bg = getComputedStyle(n).backgroundColor;
        layers.push(bg);
        if (/^rgb\(/.test(bg)) break;
      }
      return layers;
    };
    const r = shown.getBoundingClientRect();
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id || null,
      testid: el.getAttribute('data-testid'),
      name: el.getAttribute('aria-label') || el.textContent.trim().slice(0, 60),
      outline: { style: style.outlineStyle, width: parseFloat(style.outlineWidth) || 0, color: style.outlineColor, offset: parseFloat(style.outlineOffset) || 0 },
      boxShadow: style.boxShadow,
      own: style.backgroundColor,
      layers: backdrop(shown.parentElement ?? shown.getRootNode()?.host ?? null),
      dark: matchMedia('(prefers-color-scheme: dark)').matches,
      rect: { x: r.x, y: r.y, width: r.width, height: r.height, bottom: r.bottom, top: r.top },
    };
  });
}

/**
 * The opaque colour of stacked backgrounds (innermost first), over `base` ([r, g, b, 1]: what
 * shows through a transparent document, e.g. the notice behind its frame), else white or black.
 */
export function flatten(layers, dark = false, base = null) {
  let color = base ?? (dark ? [0, 0, 0, 1] : [255, 255, 255, 1]);
  for (const css of [...layers].reverse()) {
    const c = parseColor(css);
    if (c && c[3] > 0) color = over(c, color);
  }
  return color;
}

/**
 * The focus indicator's contrast: against what surrounds the control and against the control
 * itself (WCAG 2.2 1.4.11 / 2.4.13's spirit: ≥ 3:1 with both). Returns {kind, around, control}
 * (the two ratios) or null when neither an outline nor a box-shadow shows focus. `base` as for
 * `flatten`.
 */
export function indicatorContrast(info, base = null) {
  const around = flatten(info.layers, info.dark, base);
  const ownColor = parseColor(info.own);
  const control = ownColor && ownColor[3] > 0 ? over(ownColor, around) : around;
  let color = null;
  let kind = null;
  if (info.outline.style !== 'none' && info.outline.width > 0) {
    color = parseColor(info.outline.color);
    kind = 'outline';
  } else if (info.boxShadow && info.boxShadow !== 'none') {
    color = parseColor(/(rgba?\([^)]*\)|color\([^)]*\))/.exec(info.boxShadow)?.[1]);
    kind = 'box-shadow';
  }
  if (!color) return null;
  const indicator = over(color, around);
  return { kind, around: contrast(indicator, around), control: contrast(indicator, control) };
}
