// sessionStorage, or null where the browser refuses it (private modes, sandboxed frames):
// callers write `storage()?.getItem(...)` and carry on without persistence.
export function storage() {
  try { return window.sessionStorage; } catch { return null; }
}
