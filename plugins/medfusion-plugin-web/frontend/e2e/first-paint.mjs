// Usage: node e2e/first-paint.mjs URL ROWS REPEATS
// Opens URL in a fresh page REPEATS times and prints one JSON line with the median first
// contentful paint (ms) and the median time until ROWS table rows are shown.
import { launch } from "./browser.mjs";

const [url, rows = "200", repeats = "5"] = process.argv.slice(2);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const browser = await launch();
const fcp = [];
const table = [];
try {
  for (let i = 0; i < Number(repeats); i += 1) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction((n) => document.querySelectorAll("tbody tr").length >= n, Number(rows), { timeout: 30000 });
    const timing = await page.evaluate(() => ({
      fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN,
      now: performance.now(),
    }));
    fcp.push(timing.fcp);
    table.push(timing.now);
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ fcp_ms: median(fcp), rows_ms: median(table), samples: fcp.length }));
