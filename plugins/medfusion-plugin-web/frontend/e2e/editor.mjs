// Usage: node e2e/editor.mjs BASE_URL
// The workflow editor in a real browser against canned API answers: drag three nodes from the
// palette, connect two, see a mistyped connection refused and a validation error on its node,
// delete and undo with the keyboard, reload and find the draft again.
import { launch } from "./browser.mjs";
import { check, mouseDrag, shot, waitText } from "./steps.mjs";

const base = process.argv[2];
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await page.goto(`${base}/workflows`);
  const canvas = page.getByTestId("canvas");
  const counts = page.getByTestId("counts");
  const box = await canvas.boundingBox();
  for (const [kind, x] of [["dataset", 0.15], ["train", 0.5], ["evaluate", 0.85]])
    await page.getByTestId(`palette-${kind}`).dragTo(canvas, { targetPosition: { x: x * box.width, y: box.height / 3 } });
  await waitText(counts, "3 / 0");
  await shot(page, "editor-dropped");
  const port = (name) => page.locator(`[data-port="${name}"]`);
  await mouseDrag(page, port("dataset.out.dataset"), port("train.in.dataset"));
  await shot(page, "editor-connected");
  await waitText(counts, "3 / 1");
  await mouseDrag(page, port("dataset.out.dataset"), port("evaluate.in.runs"));
  await page.waitForTimeout(300);
  check((await counts.innerText()).includes("3 / 1"), "a Dataset output into a Runs input is refused");
  await waitText(page.getByTestId("node-evaluate"), "runs: required input is not connected");
  await shot(page, "editor");
  await page.getByTestId("node-train").click();
  await page.keyboard.press("Delete");
  await waitText(counts, "2 / 0");
  await page.keyboard.press("Control+z");
  await waitText(counts, "3 / 1");
  await page.getByTestId("node-dataset").click();
  await page.keyboard.press("Control+c");
  await page.keyboard.press("Control+v");
  await waitText(counts, "4 / 1");
  await page.keyboard.press("Control+z");
  await waitText(counts, "3 / 1");
  await page.reload();
  await waitText(page.getByRole("status"), "restored the unsaved draft");
  await waitText(counts, "3 / 1");
  check(errors.length === 0, `no page errors (${errors.join("; ")})`);
  console.log("editor flow ok");
} finally {
  await browser.close();
}
