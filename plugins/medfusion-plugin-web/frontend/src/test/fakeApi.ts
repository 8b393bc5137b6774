/** A fake `fetch` answering API paths from a table, for component tests. */
import { vi } from "vitest";

export type Routes = Record<string, unknown>;

/** Install a fetch that answers `GET path` (the path before `?` or the whole URL) from `routes`
 * and records every call. */
export function fakeApi(routes: Routes) {
  const calls: { method: string; url: string; body: unknown }[] = [];
  const fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    const method = init?.method ?? "GET";
    calls.push({ method, url, body: init?.body ? JSON.parse(String(init.body)) : undefined });
    const key = `${method} ${url}` in routes ? `${method} ${url}` : `${method} ${url.split("?")[0]}`;
    if (!(key in routes)) return new Response(JSON.stringify({ detail: `no route ${key}` }), { status: 404, headers: { "content-type": "application/json" } });
    return new Response(JSON.stringify(routes[key]), { status: 200, headers: { "content-type": "application/json" } });
  });
  vi.stubGlobal("fetch", fetchMock);
  return calls;
}
