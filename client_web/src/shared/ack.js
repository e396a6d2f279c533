// Requests with an ack, shared by the visitor connection (core/net.js) and the host console's
// (host/conn.js). Always resolves with the server's `{ok, ...}` or `{ok: false, error: {code,
// message}}`, also offline or when the server does not answer in time, so callers only read `ok`.

export const unavailable = (message) => ({ ok: false, error: { code: 'unavailable', message } });

// texts: {offline, timeout, unexpected}: what the caller's users read for each failure.
export async function requestAck(socket, event, data, timeoutMs, texts) {
  if (!socket?.connected) return unavailable(texts.offline);
  let ack;
  try {
    ack = await socket.timeout(timeoutMs).emitWithAck(event, data);
  } catch {
    return unavailable(texts.timeout);
  }
  if (!ack || typeof ack !== 'object') return { ok: false, error: { code: 'bad_request', message: texts.unexpected } };
  return ack;
}
