/** The shell: navigation, theme switch, login gate, and the pages loaded per route. */
import { lazy, Suspense, useState } from "react";
import { BrowserRouter, NavLink, Navigate, Route, Routes } from "react-router-dom";
import { AuthProvider, useAuth } from "./lib/auth";
import { applyTheme, initialTheme, type Theme } from "./lib/theme";
import { Button } from "./ui";
import { LoginPage } from "./pages/LoginPage";

const Dashboard = lazy(() => import("./pages/DashboardPage"));
const Editor = lazy(() => import("./pages/EditorPage"));
const Executions = lazy(() => import("./pages/ExecutionPage"));
const JobView = lazy(() => import("./pages/JobPage"));
const Monitor = lazy(() => import("./pages/MonitorPage"));
const Runs = lazy(() => import("./pages/RunsPage"));
const Compare = lazy(() => import("./pages/ComparePage"));
const Models = lazy(() => import("./pages/ModelsPage"));
const Datasets = lazy(() => import("./pages/DatasetsPage"));
const ConfigBuilder = lazy(() => import("./pages/ConfigPage"));
const Users = lazy(() => import("./pages/UsersPage"));

const LINKS: [string, string][] = [
  ["/", "Dashboard"],
  ["/workflows", "Workflow editor"],
  ["/executions", "Executions"],
  ["/monitor", "Training monitor"],
  ["/runs", "Runs"],
  ["/models", "Models"],
  ["/datasets", "Datasets"],
  ["/config", "Config builder"],
];

function Shell() {
  const { user, loading, logout } = useAuth();
  const [theme, setTheme] = useState<Theme>(initialTheme);
  if (loading) return null;
  if (!user) return <LoginPage />;
  const toggle = () => {
    const next = theme === "dark" ? "light" : "dark";
    applyTheme(next);
    setTheme(next);
  };
  return (
    <div className="mf-shell">
      <nav className="mf-nav" aria-label="main">
        <div className="mf-brand">MedFusion</div>
        {LINKS.map(([to, label]) => (
          <NavLink key={to} to={to} end={to === "/"}>
            {label}
          </NavLink>
        ))}
        {user.role === "admin" && <NavLink to="/users">Users</NavLink>}
        <div className="mf-grow" />
        <span className="mf-muted" data-testid="whoami">
          {user.username} ({user.role})
        </span>
        <Button onClick={toggle} aria-label="switch theme">
          {theme === "dark" ? "Light theme" : "Dark theme"}
        </Button>
        <Button onClick={() => void logout()}>Log out</Button>
      </nav>
      <Suspense fallback={<main className="mf-page">Loading…</main>}>
        <Routes>
          <Route path="/" element={<Dashboard />} />
          <Route path="/workflows" element={<Editor />} />
          <Route path="/workflows/:id" element={<Editor />} />
          <Route path="/executions" element={<Executions />} />
          <Route path="/executions/:id" element={<Executions />} />
          <Route path="/jobs/:id" element={<JobView />} />
          <Route path="/monitor" element={<Monitor />} />
          <Route path="/monitor/:runId" element={<Monitor />} />
          <Route path="/runs" element={<Runs />} />
          <Route path="/runs/compare" element={<Compare />} />
          <Route path="/models" element={<Models />} />
          <Route path="/models/:name" element={<Models />} />
          <Route path="/datasets" element={<Datasets />} />
          <Route path="/datasets/:id" element={<Datasets />} />
          <Route path="/config" element={<ConfigBuilder />} />
          <Route path="/users" element={<Users />} />
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </Suspense>
    </div>
  );
}

/** The whole app. */
export function App() {
  return (
    <BrowserRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
      <AuthProvider>
        <Shell />
      </AuthProvider>
    </BrowserRouter>
  );
}
