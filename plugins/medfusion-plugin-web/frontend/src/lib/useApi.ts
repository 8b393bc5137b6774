/** Load one API resource into state, with its error and a reload function. */
import { useCallback, useEffect, useState } from "react";
import { api } from "../api/client";

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  reload: () => void;
}

/** GET `path` (nothing while it is null) and keep the answer; `reload()` asks again. */
export function useApi<T>(path: string | null): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    api
      .get<T>(path)
      .then((answer) => {
        if (live) {
          setData(answer);
          setError(null);
        }
      })
      .catch((err: Error) => live && setError(err.message));
    return () => {
      live = false;
    };
  }, [path, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, reload };
}

