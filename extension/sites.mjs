// The chat sites' adapters (src/detect/rules/<site>.json) as the build needs them: the send
// endpoints the MAIN-world capture hook watches on each host, written into content/capture-hook.js
// (its `SITE_STREAMS` placeholder), and a check that the manifest runs the content scripts, and
// frames the rescue, on every host an adapter names. The adapters stay the one source of these
// facts; the core reads the same files (src/detect/rules.rs).
import fs from 'node:fs';
import path from 'node:path';

/** Every adapter, by site id. */
export function readAdapters(rulesDir) {
  const out = {};
  for (const f of fs.readdirSync(rulesDir).filter((n) => n.endsWith('.json')).sort()) {
    const a = JSON.parse(fs.readFileSync(path.join(rulesDir, f), 'utf8'));
    out[a.site] = a;
  }
  return out;
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** An endpoint path (`/a/{id}/b`) as the source of an anchored RegExp (a `{name}` is one segment). */
export function pathPattern(p) {
  return `^${p.split('/').map((seg) => (/^\{\w+\}$/.test(seg) ? '[^/]{1,100}' : escape(seg))).join('/')}$`;
}

/**
 * host -> {site, transport, format, snapshot, sends: [RegExp source], reads: [{method, path: RegExp
 * source, query?: 'name=value'}]} for every site but ChatGPT (whose sends the hook knows with their
 * resume and socket handoff, and whose reads it knows with their pages); `snapshot`: each of its
 * frames carries the whole answer so far (the capture hook hands its text over line-delta encoded).
 */
export function siteStreams(adapters) {
  const out = {};
  for (const a of Object.values(adapters)) {
    if (a.site === 'chatgpt' || !a.stream) continue;
    const sends = (a.endpoints ?? []).filter((e) => e.kind === 'conversation_send').map((e) => pathPattern(e.path));
    const reads = (a.endpoints ?? []).filter((e) => e.kind === 'conversation_read').map((e) => {
      const r = { method: (e.method ?? '').toUpperCase(), path: pathPattern(e.path) }; // '' is any method
      if (e.query) r.query = e.query;
      return r;
    });
    for (const host of a.hosts) {
      out[host] = { site: a.site, transport: a.stream.transport, format: a.stream.format, snapshot: a.stream.frames === 'snapshot', sends, reads };
    }
  }
  return out;
}

/** Throws unless the manifest's content scripts and rescue frame cover every adapter's hosts. */
export function checkManifest(manifest, adapters) {
  const hosts = Object.values(adapters).flatMap((a) => a.hosts);
  const missing = [];
  const lists = [
    ...manifest.content_scripts.map((c, i) => [`content_scripts[${i}].matches`, c.matches]),
    ...manifest.web_accessible_resources.map((w, i) => [`web_accessible_resources[${i}].matches`, w.matches]),
    ['host_permissions', manifest.host_permissions],
  ];
  for (const [name, list] of lists) {
    for (const h of hosts) if (!list.includes(`https://${h}/*`)) missing.push(`${name} lacks https://${h}/*`);
  }
  if (missing.length) throw new Error(`the manifest does not cover the adapters' hosts:\n  ${missing.join('\n  ')}`);
}

/** A content hook (capture-hook.js, page-hook.js, xhr-hook.js, read-hook.js) with its `SITE_STREAMS` placeholder filled in. */
export function fillCaptureHook(source, adapters) {
  const marker = /\/\*SITE_STREAMS\*\/\{\}/;
  if (!marker.test(source)) throw new Error('a content hook (capture-hook.js, page-hook.js, xhr-hook.js, read-hook.js) lacks its /*SITE_STREAMS*/{} placeholder');
  return source.replace(marker, () => JSON.stringify(siteStreams(adapters)));
}
