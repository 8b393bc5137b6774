// Usage: MEDFUSION_E2E_BASE=... MEDFUSION_E2E_PASSWORD=... MEDFUSION_E2E_ARCHIVE=... node e2e/flow.mjs
// The lifecycle in a real browser against `medfusion serve`: log in, dashboard, upload a
// dataset, find the trained run, watch its metric points arrive on the chart over the WebSocket,
// register the fused and image-only variants, compare them (DeLong / McNemar), promote the
// champion, open the config builder, add a viewer, log out; then as the viewer every mutating
// control is disabled and the server refuses a mutation. A screenshot of each page.
import { launch } from "./browser.mjs";
import { check, shot, waitText } from "./steps.mjs";

const base = process.env.MEDFUSION_E2E_BASE;
const password = process.env.MEDFUSION_E2E_PASSWORD;
const archive = process.env.MEDFUSION_E2E_ARCHIVE;
const runName = process.env.MEDFUSION_E2E_RUN ?? "e2e";
const model = "e2e-model";
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
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
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

  await page.getByRole("link", { name: "Runs" }).click();
  const runLink = page.getByTestId("runs-table").getByRole("link", { name: runName, exact: true });
  await runLink.waitFor();
  await shot(page, "runs");
  await runLink.click();
  await page.waitForURL(/\/monitor\//);
  await page.waitForFunction(() => Number(document.querySelector("[aria-label='live metrics']")?.getAttribute("data-points") ?? 0) > 0, null, { timeout: 30000 });
  const points = await page.getByRole("img", { name: "live metrics" }).getAttribute("data-points");
  await shot(page, "monitor");
  step(`monitor ${points} points`);

  await page.getByRole("link", { name: "Models" }).click();
  for (const variant of ["fused", "image"]) {
    await page.locator("input[name=run]").fill(runName);
    await page.locator("select[name=variant]").selectOption(variant);
    await page.locator("input[name=model]").fill(model);
    await page.getByRole("button", { name: "Register" }).click();
    await waitText(page.getByRole("main"), model);
  }
  await page.getByRole("link", { name: model }).click();
  await page.getByTestId("aliases-2").waitFor();
  step("registered");

  await page.goto(`${base}/runs/compare?runs=${model}/1,${model}/2`);
  await page.getByTestId("paired-test").first().waitFor({ timeout: 30000 });
  await waitText(page.getByRole("main"), "delong");
  await shot(page, "compare");
  step("compare");

  await page.goto(`${base}/models/${model}`);
  await page.getByTestId("versions").getByRole("button", { name: "Promote to champion" }).first().click();
  await waitText(page.getByTestId("aliases-1"), "champion");
  await shot(page, "models");
  step("champion");

  await page.getByRole("link", { name: "Config builder" }).click();
  await page.locator(".mf-schema-form input, .mf-schema-form select").first().waitFor();
  await shot(page, "config");
  await page.getByRole("link", { name: "Executions" }).click();
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
      body: JSON.stringify({ version: 2 }),
    });
    return answer.status;
  }, model);
  check(refused === 403, `the server refuses the viewer's mutation (got ${refused})`);
  await waitText(page.getByTestId("aliases-1"), "champion");
  await shot(page, "viewer-models");
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("button", { name: "Log in" }).waitFor();
  step("viewer");
  check(errors.length === 0, `no page errors (${errors.join("; ")})`);
  console.log("e2e flow ok");
} finally {
  await browser.close();
}
