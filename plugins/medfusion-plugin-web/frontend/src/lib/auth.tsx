/** Who is logged in, and whether they may change anything (viewers may not). */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, setCsrfToken } from "../api/client";
import type { Credentials, Login, User } from "../api/types";

interface AuthState {
  user: User | null;
  loading: boolean;
  canMutate: boolean;
  login: (username: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

/** Provide the session: asks `/api/auth/me` once, then follows login and logout. */
export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null>(null);
  const [loading, setLoading] = useState(true);
  useEffect(() => {
    api
      .get<User>("/api/auth/me")
      .then(setUser)
      .catch(() => setUser(null))
      .finally(() => setLoading(false));
  }, []);
  const login = useCallback(async (username: string, password: string) => {
    const answer = await api.post<Login>("/api/auth/login", { username, password } satisfies Credentials);
    setCsrfToken(answer.csrf_token);
    setUser(answer.user);
  }, []);
  const logout = useCallback(async () => {
    try {
      await api.post("/api/auth/logout");
    } finally {
      setCsrfToken(null);
      setUser(null);
    }
  }, []);
  const value = useMemo(
    () => ({ user, loading, canMutate: user !== null && user.role !== "viewer", login, logout }),
    [user, loading, login, logout],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

/** The session of the nearest `AuthProvider`. */
export function useAuth(): AuthState {
  const state = useContext(AuthContext);
  if (!state) throw new Error("useAuth outside AuthProvider");
  return state;
}
