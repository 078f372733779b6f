/**
 * A real headless Chromium for end-to-end tests of the web page, driven
 * with playwright-core (no browser download: the system's `chromium`).
 * Each page is watched for what must never happen: a script error, a
 * console error other than the ones a test expects, a dialog (`alert`).
 */
import { existsSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { root } from "./bun.ts";

/** The Chromium to drive: $CHROMIUM, else the Debian package's. */
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Why browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM to its path)`;
}

/** Headless Chromium; `--no-sandbox` because tests may run as root (in CI, in containers), where the sandbox cannot start. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], timeout: 30_000 });
}

/** A page in its own browser context (its own storage, like another person's browser), watched. */
export interface WatchedPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Script errors and console errors, in order. */
  readonly errors: string[];
  /** Messages of dialogs the page opened (each dismissed at once). */
  readonly dialogs: string[];
}

/** A phone's screen (an iPhone 12 to 15's CSS pixels). */
export const PHONE = { width: 390, height: 844 };
/** A small laptop's window. */
export const DESKTOP = { width: 1100, height: 680 };

/** Open `url` in a new context with the given viewport, recording errors and dialogs. */
export async function openPage(browser: Browser, url: string, viewport = DESKTOP): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport, isMobile: viewport.width < 500, hasTouch: viewport.width < 500 });
  const page = await context.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on("pageerror", (err) => errors.push(`page error: ${err.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(url);
  return { context, page, errors, dialogs };
}

/**
 * Where a test run keeps what it produced for people to look at
 * (screenshots): $ARTIFACTS_DIR, else tmp/artifacts/ (ignored by git). CI
 * uploads this directory.
 */
export function artifactPath(name: string): string {
  const dir = process.env.ARTIFACTS_DIR ?? path.join(root, "tmp", "artifacts");
  mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
