import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter, Route, Routes, useLocation } from "react-router-dom";
import { SchemaForm } from "../editor/SchemaForm";
import { AuthProvider } from "../lib/auth";
import RunsPage from "../pages/RunsPage";
import { ActionButton } from "../ui";
import { fakeApi } from "./fakeApi";

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
  it.each([
    ["viewer", true],
    ["researcher", false],
  ])("is disabled for a %s: %s", async (role, disabled) => {
    fakeApi({ "GET /api/auth/me": { user: { id: 1, username: "u", role } } });
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
      "GET /api/runs": {
        runs: [
          { id: "r1", name: "fused", status: "finished", metrics: { val_auroc: 0.9 } },
          { id: "r2", name: "image_only", status: "finished", metrics: { val_auroc: 0.7 } },
        ],
      },
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
