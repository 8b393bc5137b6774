// Debian's headless chromium driven by playwright-core (no browser is ever downloaded).
import { chromium } from "playwright-core";

/** Launch headless Chromium from $MEDFUSION_CHROMIUM (default /usr/bin/chromium). */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.MEDFUSION_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}
