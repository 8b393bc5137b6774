// What the browser scripts share: a checked step, waiting for a text, screenshots.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";

/** Fail with a one-line message unless `ok`. */
export function check(ok, message) {
  if (!ok) throw new Error(`check failed: ${message}`);
}

/** Wait until `locator`'s text contains `text` (or throw naming both). */
export async function waitText(locator, text, timeout = 15000) {
  try {
    await locator.filter({ hasText: text }).first().waitFor({ timeout });
  } catch {
    throw new Error(`timed out waiting for ${JSON.stringify(text)}; saw ${JSON.stringify(await locator.first().innerText().catch(() => ""))}`);
  }
}

/** Save a full-page screenshot `name`.png under $MEDFUSION_SCREENSHOTS. */
export async function shot(page, name) {
  const folder = process.env.MEDFUSION_SCREENSHOTS;
  if (!folder) return;
  await mkdir(folder, { recursive: true });
  await page.screenshot({ path: join(folder, `${name}.png`), fullPage: true });
}

/** Drag from the centre of one element to the centre of another with the mouse (React Flow
 * connections). */
export async function mouseDrag(page, from, to) {
  const a = await from.boundingBox();
  const b = await to.boundingBox();
  check(a && b, "both ends of the drag are on screen");
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 });
  await page.mouse.up();
}
