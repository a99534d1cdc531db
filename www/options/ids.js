// Provider ids are never reused: a removed provider's id may still name its answers in the cache,
// its health in the router and its lines in the timeline. Every id this browser's settings have
// held is remembered (in the options page's own storage), and a new provider takes an id none of
// them had.
const KEY = 'understudy.providerIdsUsed';
const MAX = 5000;

function used() {
  try {
    const list = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return new Set(Array.isArray(list) ? list.filter((x) => typeof x === 'string') : []);
  } catch {
    return new Set();
  }
}

/** Remembers `ids` as used. */
export function rememberIds(ids) {
  const all = used();
  const before = all.size;
  for (const id of ids) all.add(id);
  if (all.size === before) return;
  try {
    localStorage.setItem(KEY, JSON.stringify([...all].slice(-MAX)));
  } catch {}
}

/** `base`, or `base-2`, `base-3`, …: the first that no current provider has and none ever had. */
export function freshId(base, current) {
  const taken = used();
  for (const id of current) taken.add(id);
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  rememberIds([id]);
  return id;
}
