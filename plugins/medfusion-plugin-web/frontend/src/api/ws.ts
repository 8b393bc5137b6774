/** WebSocket streams of the API (`{seq, type, data}` messages) that reconnect with
 * `?after=<last seq>` so that no event is lost or seen twice. */

export interface StreamMessage {
  seq: number;
  type: string;
  data: unknown;
}

/** Open `path` (e.g. `/api/ws/runs/ID/metrics`) and call `onMessage` for each new message; the
 * returned function closes the stream for good. */
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
      onMessage(message);
    };
    socket.onclose = () => {
      if (!closed) setTimeout(connect, (retry = Math.min(retry * 2, 8000)));
    };
  };
  connect();
  return () => {
    closed = true;
    socket?.close();
  };
}
