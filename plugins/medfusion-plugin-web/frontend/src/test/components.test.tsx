import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter, Route, Routes, useLocation } from "react-router-dom";
import type { Job, User } from "../api/types";
import { SchemaForm } from "../editor/SchemaForm";
import { AuthProvider } from "../lib/auth";
import RunsPage from "../pages/RunsPage";
import { ActionButton } from "../ui";
import JobPage, { appendLog } from "../pages/JobPage";
import { ReportLinks } from "../pages/MonitorPage";
import { RecordsCard } from "../pages/ExecutionPage";
import { fakeApi } from "./fakeApi";
import { runDetailOf, runOf, userOf } from "./fixtures";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("SchemaForm", () => {
  const schema = {
    type: "object",
    required: ["epochs"],
    properties: {
      epochs: { type: "integer", title: "Epochs", default: 2 },
      backbone: { type: "string", enum: ["tiny", "resnet18"] },
      augment: { type: "boolean" },
      size: { $ref: "#/$defs/Size" },
      lr: { anyOf: [{ type: "number" }, { type: "null" }], default: null },
    },
    $defs: { Size: { type: "object", properties: { px: { type: "integer", default: 64 } } } },
  };

  it("renders one field per property, nested objects and $refs included", () => {
    render(<SchemaForm schema={schema} value={{}} onChange={() => undefined} />);
    expect(screen.getByText("Epochs *")).toBeTruthy();
    expect((screen.getByRole("spinbutton", { name: /Epochs/ }) as HTMLInputElement).value).toBe("2");
    expect(screen.getByRole("combobox")).toBeTruthy();
    expect(screen.getByText("px")).toBeTruthy();
    expect(screen.getByRole("checkbox")).toBeTruthy();
  });

  it("reports typed values", () => {
    const changes: Record<string, unknown>[] = [];
    render(<SchemaForm schema={schema} value={{ epochs: 2 }} onChange={(v) => changes.push(v)} />);
    fireEvent.change(screen.getByRole("spinbutton", { name: /Epochs/ }), { target: { value: "5" } });
    fireEvent.change(screen.getByRole("combobox"), { target: { value: "resnet18" } });
    fireEvent.click(screen.getByRole("checkbox"));
    expect(changes).toEqual([{ epochs: 5 }, { epochs: 2, backbone: "resnet18" }, { epochs: 2, augment: true }]);
  });

  it("disables every control when asked", () => {
    render(<SchemaForm schema={schema} value={{}} onChange={() => undefined} disabled />);
    for (const input of document.querySelectorAll("input, select")) expect((input as HTMLInputElement).disabled).toBe(true);
  });
});

describe("ActionButton", () => {
  it.each<[User["role"], boolean]>([
    ["viewer", true],
    ["researcher", false],
  ])("is disabled for a %s: %s", async (role, disabled) => {
    fakeApi({ "GET /api/auth/me": userOf(role) });
    render(
      <AuthProvider>
        <ActionButton>Run</ActionButton>
      </AuthProvider>,
    );
    await waitFor(() => expect((screen.getByRole("button", { name: "Run" }) as HTMLButtonElement).disabled).toBe(disabled));
  });
});

function Where() {
  const location = useLocation();
  return <output data-testid="url">{location.pathname + location.search}</output>;
}

describe("RunsPage", () => {
  it("sorts by a clicked column, keeps it in the URL and links a comparison", async () => {
    const calls = fakeApi({
      "GET /api/runs": [runOf("r1", "fused", "finished", { val_auroc: 0.9 }), runOf("r2", "image_only", "finished", { val_auroc: 0.7 })],
    });
    render(
      <MemoryRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }} initialEntries={["/runs?filter=status%20%3D%20'finished'"]}>
        <Routes>
          <Route path="/runs" element={<RunsPage />} />
          <Route path="/runs/compare" element={<p>compare page</p>} />
        </Routes>
        <Where />
      </MemoryRouter>,
    );
    await screen.findByText("fused");
    expect(calls[0]!.url).toContain("filter=status+%3D+%27finished%27");
    const names = () => [...document.querySelectorAll("tbody tr td:nth-child(2)")].map((td) => td.textContent);
    fireEvent.click(screen.getByRole("button", { name: "val_auroc" }));
    expect(names()).toEqual(["image_only", "fused"]);
    expect(screen.getByTestId("url").textContent).toContain("sort=metrics.val_auroc+asc");
    fireEvent.click(screen.getByRole("button", { name: "val_auroc" }));
    expect(names()).toEqual(["fused", "image_only"]);
    fireEvent.click(screen.getByRole("checkbox", { name: "select fused" }));
    fireEvent.click(screen.getByRole("checkbox", { name: "select image_only" }));
    fireEvent.click(screen.getByRole("button", { name: /Compare/ }));
    expect(screen.getByTestId("url").textContent).toBe("/runs/compare?runs=r1,r2");
  });
});

describe("ReportLinks", () => {
  it("links the run's report as HTML and PDF when both were written", () => {
    render(<ReportLinks run={runDetailOf(runOf("r 1", "fused", "finished", {}), { html: true, pdf: true })} />);
    expect(screen.getByRole("link", { name: "Report (HTML)" }).getAttribute("href")).toBe("/api/runs/r%201/report.html");
    const pdf = screen.getByRole("link", { name: "Report (PDF)" });
    expect(pdf.getAttribute("href")).toBe("/api/runs/r%201/report.pdf");
    expect(pdf.getAttribute("download")).toBe("fused-report.pdf");
  });

  it("says how to make a report when there is none", () => {
    render(<ReportLinks run={runDetailOf(runOf("r1", "fused", "running", {}), { html: false, pdf: false })} />);
    expect(screen.queryByRole("link")).toBeNull();
    expect(screen.getByText(/medfusion evaluate/)).toBeTruthy();
  });
});

describe("RecordsCard", () => {
  it("lists the recorded dataset, checkpoints and model versions with their nodes", () => {
    const base = { execution_id: "e1", node_execution_id: 1, created: 1 };
    const records = {
      datasets: [{ ...base, id: 1, node_id: "data", name: "demo", fingerprint: "sha256:ab", manifest: "m.csv", config: null, patients: 40 }],
      checkpoints: [
        { ...base, id: 1, node_id: "train", run_id: "r1", variant: "fused", role: "last", path: "/runs/x/last.pt", epoch: null, monitor: null, value: null, size: 9, sha256: "00" },
      ],
      models: [{ ...base, id: 1, node_id: "champion", name: "demo", version: 2, alias: "champion", run_id: "r1", variant: "fused" }],
    };
    render(<RecordsCard records={records} />);
    const rows = [...screen.getByTestId("records").querySelectorAll("tr")].map((row) => [...row.children].map((cell) => cell.textContent));
    expect(rows).toEqual([
      ["dataset", "data", "demo", "sha256:ab · 40 patients"],
      ["checkpoint", "train", "fused last", "epoch — · /runs/x/last.pt"],
      ["model", "champion", "demo/2", "@champion"],
    ]);
  });
});

/** A WebSocket stand-in: every socket the page opens, with a way to deliver messages to it. */
class FakeSocket {
  static opened: FakeSocket[] = [];
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.opened.push(this);
  }
  deliver(seq: number, type: string, data: unknown) {
    act(() => this.onmessage?.({ data: JSON.stringify({ seq, type, data }) }));
  }
  close() {}
}

function jobOf(state: Job["state"]): Job {
  return {
    id: "j1",
    state,
    priority: 0,
    modalities: "fused",
    owner: "u",
    executor: "local",
    resume: false,
    config: "/runs/jobs/j1/config.yaml",
    log_path: "/runs/jobs/j1/log.txt",
    run_dir: null,
    run_ids: state === "finished" ? ["run-abcdef12"] : [],
    exit_code: null,
    error: null,
    created: 0,
    started: 0,
    ended: null,
  };
}

describe("appendLog", () => {
  it("appends and keeps only the last characters", () => {
    expect(appendLog("ab", "cd")).toBe("abcd");
    expect(appendLog("abc", "def", 4)).toBe("cdef");
  });
});

describe("JobPage", () => {
  it("shows the log as it streams and re-reads the job when the stream ends", async () => {
    FakeSocket.opened = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    const routes: Record<string, unknown> = { "GET /api/auth/me": userOf("researcher"), "GET /api/jobs/j1": jobOf("running") };
    fakeApi(routes);
    render(
      <AuthProvider>
        <MemoryRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }} initialEntries={["/jobs/j1"]}>
          <Routes>
            <Route path="/jobs/:id" element={<JobPage />} />
          </Routes>
        </MemoryRouter>
      </AuthProvider>,
    );
    await screen.findByText("running");
    const socket = FakeSocket.opened.at(-1)!;
    expect(socket.url).toMatch(/\/api\/ws\/jobs\/j1\/log$/);
    socket.deliver(10, "log", { text: "epoch 1\n" });
    await waitFor(() => expect(screen.getByTestId("job-log").textContent).toBe("epoch 1\n"));
    socket.deliver(20, "log", { text: "epoch 2\n" });
    socket.deliver(15, "log", { text: "a replayed chunk\n" });
    await waitFor(() => expect(screen.getByTestId("job-log").textContent).toBe("epoch 1\nepoch 2\n"));
    expect((screen.getByRole("button", { name: "Cancel" }) as HTMLButtonElement).disabled).toBe(false);
    routes["GET /api/jobs/j1"] = jobOf("finished");
    socket.deliver(21, "end", { state: "finished" });
    await screen.findByText("finished");
    expect(screen.getByRole("link", { name: "run-abcd" }).getAttribute("href")).toBe("/monitor/run-abcdef12");
    expect((screen.getByRole("button", { name: "Cancel" }) as HTMLButtonElement).disabled).toBe(true);
  });
});
