// Usage: MEDFUSION_E2E_BASE=... MEDFUSION_E2E_PASSWORD=... MEDFUSION_E2E_ARCHIVE=...
//        MEDFUSION_E2E_LIVE_CONFIG='{...}' node e2e/flow.mjs
// The lifecycle in a real browser against `medfusion serve`: log in, dashboard, build the
// quickstart workflow from the palette (drag 8 nodes, connect 9 edges, set parameters in the
// generated forms), run it and follow the execution until it finishes, upload a dataset; start a
// longer training from the config builder, follow its log live on the job page and watch its
// metric points arrive on the chart WHILE it runs (the count grows between two looks, the job
// still running), then cancel it; open a trained run's page (its chart, the report as HTML and
// PDF), compare fused vs image-only (DeLong / McNemar), register the image-only run and promote it
// to champion, add a viewer, log out; then as the viewer every mutating control is disabled and
// the server refuses a mutation. A screenshot of each page.
import { launch } from "./browser.mjs";
import { check, mouseDrag, shot, waitText } from "./steps.mjs";

const base = process.env.MEDFUSION_E2E_BASE;
const password = process.env.MEDFUSION_E2E_PASSWORD;
const archive = process.env.MEDFUSION_E2E_ARCHIVE;
const liveConfig = process.env.MEDFUSION_E2E_LIVE_CONFIG;
const model = "demo";
const SMALL = ["data.image.size=[32, 32]", "data.loader.workers=0", "trainer.params.epochs=1", "trainer.params.progress=never", "evaluation.bootstrap=20"];
// [kind, x, y] as fractions of the canvas; the editor names them kind, kind_2, ...
const LAYOUT = [
  ["dataset", 0.02, 0.3],
  ["train", 0.3, 0.05],
  ["train", 0.3, 0.3],
  ["train", 0.3, 0.55],
  ["evaluate", 0.62, 0.3],
  ["compare", 0.02, 0.8],
  ["register", 0.3, 0.8],
  ["alias", 0.62, 0.8],
];
const EDGES = [
  ["dataset.out.dataset", "train.in.dataset"],
  ["dataset.out.dataset", "train_2.in.dataset"],
  ["dataset.out.dataset", "train_3.in.dataset"],
  ["train.out.run", "evaluate.in.runs"],
  ["train_2.out.run", "evaluate.in.runs"],
  ["train_3.out.run", "evaluate.in.runs"],
  ["evaluate.out.runs", "compare.in.runs"],
  ["compare.out.comparison", "register.in.comparison"],
  ["register.out.model", "alias.in.model"],
];

async function buildQuickstart(page) {
  await page.getByRole("link", { name: "Workflow editor" }).click();
  const canvas = page.getByTestId("canvas");
  await page.getByTestId("palette-dataset").waitFor();
  const box = await canvas.boundingBox();
  for (const [kind, x, y] of LAYOUT)
    await page.getByTestId(`palette-${kind}`).dragTo(canvas, { targetPosition: { x: x * box.width, y: y * box.height } });
  await waitText(page.getByTestId("counts"), `${LAYOUT.length} / 0`);
  await shot(page, "editor-dropped");
  for (const [i, [from, to]] of EDGES.entries()) {
    await page.waitForTimeout(400);
    await mouseDrag(page, page.locator(`[data-port="${from}"]`), page.locator(`[data-port="${to}"]`));
    await waitText(page.getByTestId("counts"), `${LAYOUT.length} / ${i + 1}`);
  }
  const params = page.getByRole("complementary", { name: "parameters" });
  const select = async (node) => {
    await page.getByTestId(`node-${node}`).locator("strong").click();
    await waitText(params, `${node} (`);
  };
  await select("dataset");
  await params.locator("input[name=demo_patients]").fill("40");
  await params.locator("textarea[name=overrides]").fill(SMALL.join("\n"));
  for (const [node, modalities] of [["train_2", "image"], ["train_3", "clinical"]]) {
    await select(node);
    await params.locator("select[name=modalities]").selectOption(modalities);
  }
  await select("register");
  await params.locator("input[name=name]").fill(model);
  await page.getByRole("textbox", { name: "workflow name" }).fill("quickstart");
  const run = page.getByRole("button", { name: "Run" });
  await page.waitForFunction(() => [...document.querySelectorAll("button")].some((b) => b.textContent === "Run" && !b.disabled), null, { timeout: 15000 });
  await shot(page, "editor");
  await run.click();
  await page.waitForURL(/\/executions\/[^/]+$/);
  const id = page.url().split("/").pop();
  const deadline = Date.now() + 280_000;
  let state = "";
  while (Date.now() < deadline) {
    state = await page.evaluate(async (eid) => (await (await fetch(`/api/executions/${eid}`)).json()).state, id);
    if (!["running", "queued", "pending", "created"].includes(state)) break;
    await page.waitForTimeout(2000);
  }
  check(state === "finished", `the quickstart execution finished (state ${state}: ${await page.getByTestId("node-states").innerText()})`);
  await waitText(page.getByTestId("node-states"), "alias");
  await shot(page, "execution");
}

const jobState = (page, id) => page.evaluate(async (jid) => (await (await fetch(`/api/jobs/${jid}`)).json()).state, id);
const chartPoints = (page) => page.evaluate(() => Number(document.querySelector("[aria-label='live metrics']")?.getAttribute("data-points") ?? 0));

/** Start the live training from the config builder, see its log stream in, watch the chart gain
 * points while the job is still running, then cancel it from its page. */
async function watchLiveTraining(page) {
  await page.getByRole("link", { name: "Config builder" }).click();
  // the uploaded dataset's manifest (under the server's data root) is the one the training reads
  await page.evaluate(async (config) => {
    const [dataset] = await (await fetch("/api/datasets")).json();
    const draft = JSON.parse(config);
    localStorage.setItem("medfusion.config.draft", JSON.stringify({ ...draft, data: { ...draft.data, manifest: dataset.manifest } }));
  }, liveConfig);
  await page.reload();
  await page.locator(".mf-schema-form input, .mf-schema-form select").first().waitFor();
  await shot(page, "config");
  await page.locator("select[aria-label=modalities]").selectOption("fused");
  await page.getByRole("button", { name: "Start training" }).click();
  await page.waitForURL(/\/jobs\/[^/]+$/);
  const jobId = page.url().split("/").pop();
  await waitText(page.getByTestId("job-log"), "epoch 1/", 120_000);
  await shot(page, "job");
  const runId = await page.evaluate(async () => {
    for (let tries = 0; tries < 120; tries += 1) {
      const runs = await (await fetch("/api/runs?status=running")).json();
      const live = runs.find((r) => r.name === "live");
      if (live) return live.id;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return null;
  });
  check(runId !== null, "the live training's run is listed as running");
  await page.goto(`${base}/monitor/${runId}`);
  await page.waitForFunction(() => Number(document.querySelector("[aria-label='live metrics']")?.getAttribute("data-points") ?? 0) > 0, null, { timeout: 60000 });
  const first = await chartPoints(page);
  await page.waitForFunction((n) => Number(document.querySelector("[aria-label='live metrics']")?.getAttribute("data-points") ?? 0) > n, first, { timeout: 60000 });
  const second = await chartPoints(page);
  const state = await jobState(page, jobId);
  check(state === "running", `the job was still running when the chart had grown from ${first} to ${second} points (state ${state})`);
  await shot(page, "monitor-live");
  step(`live ${first} -> ${second} points while running`);
  await page.goto(`${base}/jobs/${jobId}`);
  await waitText(page.getByTestId("job-log"), "fused epoch 2/", 30_000); // the log so far, replayed
  await page.getByRole("button", { name: "Cancel" }).click();
  await waitText(page.getByRole("main"), "cancelled", 60_000);
  step("job cancelled");
}
const step = (name) => console.log(`step ${name}`);

async function login(page, username, secret) {
  await page.goto(`${base}/`);
  await page.locator("input[name=username]").fill(username);
  await page.locator("input[name=password]").fill(secret);
  await page.getByRole("button", { name: "Log in" }).click();
  await waitText(page.getByTestId("whoami"), username);
}

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await page.goto(`${base}/`);
  await page.getByRole("button", { name: "Log in" }).waitFor();
  await shot(page, "login");
  await login(page, "admin", password);
  step("login");
  await waitText(page.getByTestId("system"), "cpu_percent");
  await shot(page, "dashboard");
  step("dashboard");
  await buildQuickstart(page);
  step("quickstart");

  await page.getByRole("link", { name: "Datasets" }).click();
  await page.locator("input[name=dataset-name]").fill("demo");
  await page.locator("input[name=archive]").setInputFiles(archive);
  await page.getByRole("button", { name: "Upload" }).click();
  await page.waitForURL(/\/datasets\/[^/]+$/);
  await page.getByRole("table", { name: "class balance" }).locator("tr").first().waitFor();
  await page.getByTestId("patients").locator("tr").first().click();
  await page.locator("img").first().waitFor();
  await shot(page, "datasets");
  step("datasets");

  await watchLiveTraining(page);

  await page.getByRole("link", { name: "Runs" }).click();
  const runLink = page.getByTestId("runs-table").getByRole("link", { name: "demo-fused", exact: true });
  await runLink.waitFor();
  await shot(page, "runs");
  await runLink.click();
  await page.waitForURL(/\/monitor\//);
  await page.waitForFunction(() => Number(document.querySelector("[aria-label='live metrics']")?.getAttribute("data-points") ?? 0) > 0, null, { timeout: 30000 });
  const points = await page.getByRole("img", { name: "live metrics" }).getAttribute("data-points");
  const pdfLink = page.getByRole("link", { name: "Report (PDF)" });
  await pdfLink.waitFor();
  await page.getByRole("link", { name: "Report (HTML)" }).waitFor();
  const pdf = await page.evaluate(async (href) => {
    const answer = await fetch(href);
    return { status: answer.status, type: answer.headers.get("content-type"), head: new TextDecoder().decode((await answer.arrayBuffer()).slice(0, 5)) };
  }, await pdfLink.getAttribute("href"));
  check(pdf.status === 200 && pdf.type === "application/pdf" && pdf.head === "%PDF-", `the run page's PDF link gives a PDF (${JSON.stringify(pdf)})`);
  await shot(page, "monitor");
  step(`monitor ${points} points, report html + pdf`);

  await page.goto(`${base}/runs/compare?runs=demo-fused,demo-image`);
  await page.getByTestId("paired-test").first().waitFor({ timeout: 30000 });
  await waitText(page.getByRole("main"), "delong");
  await shot(page, "compare");
  step("compare");

  await page.getByRole("link", { name: "Models" }).click();
  await page.locator("input[name=run]").fill("demo-image");
  await page.locator("select[name=variant]").selectOption("image");
  await page.locator("input[name=model]").fill(model);
  await page.getByRole("button", { name: "Register" }).click();
  await page.goto(`${base}/models/${model}`);
  await page.getByTestId("aliases-2").waitFor();
  await page.getByTestId("versions").locator("tr", { has: page.getByTestId("aliases-2") }).getByRole("button", { name: "Promote to champion" }).click();
  await waitText(page.getByTestId("aliases-2"), "champion");
  await shot(page, "models");
  step("champion");

  await page.getByRole("link", { name: "Executions" }).click();
  await page.getByTestId("jobs").locator("tr").first().waitFor();
  await shot(page, "executions");
  await page.getByRole("link", { name: "Users" }).click();
  await page.locator("input[name=new-username]").fill("vera");
  await page.locator("input[name=new-password]").fill("viewer-password-1");
  await page.locator("select[name=new-role]").selectOption("viewer");
  await page.getByRole("button", { name: "Add" }).click();
  await waitText(page.getByRole("main"), "vera");
  await shot(page, "users");
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("button", { name: "Log in" }).waitFor();
  step("logout");

  await login(page, "vera", "viewer-password-1");
  check((await page.getByRole("link", { name: "Users" }).count()) === 0, "a viewer has no Users page");
  await page.goto(`${base}/models/${model}`);
  await page.getByTestId("aliases-1").waitFor();
  const mutating = page.locator("[data-mutating=true]");
  const count = await mutating.count();
  check(count >= 3, `the models page has mutating controls (${count})`);
  for (let i = 0; i < count; i += 1) check(await mutating.nth(i).isDisabled(), `mutating control ${i} is disabled for a viewer`);
  const refused = await page.evaluate(async (name) => {
    const answer = await fetch(`/api/models/${name}/aliases/champion`, {
      method: "PUT",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": sessionStorage.getItem("medfusion.csrf") ?? "" },
      body: JSON.stringify({ version: 1 }),
    });
    return answer.status;
  }, model);
  check(refused === 403, `the server refuses the viewer's mutation (got ${refused})`);
  await waitText(page.getByTestId("aliases-2"), "champion");
  await shot(page, "viewer-models");
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("button", { name: "Log in" }).waitFor();
  step("viewer");
  check(errors.length === 0, `no page errors (${errors.join("; ")})`);
  console.log("e2e flow ok");
} finally {
  await browser.close();
}
