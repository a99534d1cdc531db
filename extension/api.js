// The one place that chooses between Firefox's `browser` and Chrome's `chrome` namespace.
export const ext = globalThis.browser ?? globalThis.chrome;
