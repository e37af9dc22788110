// Drives imagepipe's web page in headless Chromium (Debian's `chromium`, through playwright-core) as a person
// would: open the page, choose a width and a format, pick a real photo in the file input, watch its card go
// live to `done`, measure the rendered result, then pick a file that is no image and one over the upload limit
// and read the errors the page shows. Takes a screenshot and prints one JSON report on stdout; the gateway's
// browser test (tests/api/browser.rs) asserts on it.
//
// Usage: node upload.mjs <gateway URL> <photo path> <screenshot path>
// Environment: CHROMIUM (default /usr/bin/chromium), BROWSER_TIMEOUT_MS (default 60000).

import { mkdirSync } from "node:fs";
import { basename, dirname } from "node:path";
import { chromium } from "playwright-core";

const [base, photo, screenshot] = process.argv.slice(2);
if (!base || !photo || !screenshot) {
  console.error("usage: node upload.mjs <gateway URL> <photo path> <screenshot path>");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const timeout = Number(process.env.BROWSER_TIMEOUT_MS) || 60_000;
const WIDTH = 480;
const FORMAT = "webp";

const report = { page: {}, photo: {}, notImage: {}, tooLarge: {}, requests: [], consoleErrors: [] };

/** The card of the upload named `name`, once it is in one of `states`. */
const card = (page, name, states = []) =>
  page.locator(`.card${states.length ? `:is(${states.map((state) => `[data-state="${state}"]`).join(",")})` : ""}`, {
    has: page.locator("h3", { hasText: name }),
  });
/** The states after which a card does not change any more. */
const FINISHED = ["done", "failed", "rejected", "error"];

/** What a card shows: its state, the error in words, and every figure's caption. */
async function cardReport(locator) {
  return locator.evaluate((node) => ({
    state: node.dataset.state,
    states: JSON.parse(node.dataset.states || "[]"),
    jobId: node.dataset.jobId || null,
    error: node.querySelector(".error:not([hidden])")?.textContent.trim() || null,
    detail: node.querySelector(".detail")?.textContent.trim() || null,
    figures: [...node.querySelectorAll("figure")].map((figure) => ({
      caption: figure.querySelector("figcaption")?.textContent.replace(/\s+/g, " ").trim(),
      image: (() => {
        const image = figure.querySelector("img");
        return image ? { naturalWidth: image.naturalWidth, naturalHeight: image.naturalHeight, complete: image.complete } : null;
      })(),
      download: figure.querySelector("a[download]")?.getAttribute("download") || null,
    })),
  }));
}

let browser;
let status = 0;
try {
  browser = await chromium.launch({
    executablePath,
    headless: true,
    // Chromium's sandbox cannot start as root (CI containers).
    args: [...(process.getuid?.() === 0 ? ["--no-sandbox"] : []), "--disable-dev-shm-usage"],
  });
  report.browser = browser.version();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  page.setDefaultTimeout(timeout);
  page.on("console", (message) => {
    // The browser's own line for a refused request (the 415 below) is expected; anything else is not.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      report.consoleErrors.push(message.text());
    }
  });
  page.on("pageerror", (error) => report.consoleErrors.push(String(error)));
  page.on("request", (request) => {
    const url = new URL(request.url());
    report.requests.push(`${request.method()} ${url.pathname}`);
  });
  // Every state a card passes through, recorded in the page as it happens.
  await page.addInitScript(() => {
    new MutationObserver((mutations) => {
      for (const mutation of mutations) {
        const node = mutation.target;
        const states = JSON.parse(node.dataset.states || "[]");
        if (states[states.length - 1] !== node.dataset.state) {
          states.push(node.dataset.state);
          node.dataset.states = JSON.stringify(states);
        }
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
  });

  const response = await page.goto(new URL("/", base).href);
  report.page = {
    status: response.status(),
    contentType: response.headers()["content-type"],
    title: await page.title(),
    maxUploadBytes: Number(await page.locator('meta[name="imagepipe-max-upload-bytes"]').getAttribute("content")),
  };

  // A real photo, resized and converted.
  await page.fill("#width", String(WIDTH));
  await page.selectOption("#format", FORMAT);
  await page.setInputFiles("#files", photo);
  const photoCard = card(page, basename(photo));
  await card(page, basename(photo), FINISHED).waitFor();
  if ((await photoCard.getAttribute("data-state")) === "done") {
    await photoCard.and(page.locator('[data-ready="true"]')).waitFor();
  }
  report.photo = await cardReport(photoCard);
  report.photo.requested = { width: WIDTH, format: FORMAT };

  // A file that is no image.
  await page.setInputFiles("#files", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("These are notes, not a picture.\n") });
  const textCard = card(page, "notes.txt");
  await card(page, "notes.txt", FINISHED).waitFor();
  report.notImage = await cardReport(textCard);

  // A file over the gateway's upload limit: refused by the page before it is sent.
  const huge = Buffer.alloc(report.page.maxUploadBytes + 1, 0xff);
  await page.setInputFiles("#files", { name: "huge.jpg", mimeType: "image/jpeg", buffer: huge });
  const hugeCard = card(page, "huge.jpg");
  await card(page, "huge.jpg", FINISHED).waitFor();
  report.tooLarge = await cardReport(hugeCard);

  // Let the fonts and the last images settle, then keep the picture.
  await page.evaluate(() => document.fonts.ready);
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  report.screenshot = screenshot;
} catch (error) {
  report.error = String(error && error.stack ? error.stack : error);
  status = 1;
  try {
    const pages = browser ? browser.contexts().flatMap((context) => context.pages()) : [];
    if (pages[0]) {
      mkdirSync(dirname(screenshot), { recursive: true });
      await pages[0].screenshot({ path: screenshot, fullPage: true });
      report.screenshot = screenshot;
    }
  } catch {
    // No screenshot of the failure; the report says what failed.
  }
} finally {
  if (browser) await browser.close();
}
console.log(JSON.stringify(report));
process.exit(status);
