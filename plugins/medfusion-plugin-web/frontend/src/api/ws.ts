/** WebSocket streams of the API (`{seq, type, data}` messages) that reconnect with
 * `?after=<last seq>` so that no event is lost or seen twice. */

export interface StreamMessage {
  seq: number;
  type: string;
  data: unknown;
}

/** Open `path` (e.g. `/api/ws/runs/ID/metrics`) and call `onMessage` for each new message; the
 * stream reconnects after a drop, and stops after an `end` or `error` message or a refusal (close
 * code 1008); the returned function closes it for good. */
export function openStream(path: string, onMessage: (message: StreamMessage) => void): () => void {
  let last = 0;
  let closed = false;
  let socket: WebSocket | null = null;
  let retry = 500;
  const connect = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const sep = path.includes("?") ? "&" : "?";
    socket = new WebSocket(`${scheme}://${location.host}${path}${last ? `${sep}after=${last}` : ""}`);
    socket.onmessage = (event: MessageEvent<string>) => {
      const message = JSON.parse(event.data) as StreamMessage;
      if (typeof message.seq === "number") {
        if (message.seq <= last) return;
        last = message.seq;
      }
      retry = 500;
      if (message.type === "end" || message.type === "error") closed = true;
      onMessage(message);
    };
    socket.onclose = (event: CloseEvent) => {
      if (event.code === 1008) closed = true;
      if (!closed) setTimeout(connect, (retry = Math.min(retry * 2, 8000)));
    };
  };
  connect();
  return () => {
    closed = true;
    socket?.close();
  };
}
