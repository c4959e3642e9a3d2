import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFramewireClient } from "@framewire/shared/client";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { type Browser, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWebAssets } from "../../edge/web/build";
import { writeDeadLetter } from "../../node-worker/src/dead-letters";
import { repoRoot, type Stack, startStack } from "../../scripts/lib/stack";
import { makeClip, makeGarbage } from "../support/media";

/**
 * The web console in a real browser: Debian's Chromium, headless, driven by playwright-core,
 * against the real local stack (nats-server, edge, gateway, a processing node). Screenshots of the
 * key screens are kept in test-artifacts/screenshots/.
 */

const chromiumPath = process.env.FW_CHROMIUM ?? "/usr/bin/chromium";
const shots = join(repoRoot, "test-artifacts", "screenshots");
const clipSeconds = 4;
const axeSource = await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let dir: string;
let stack: Stack;
let browser: Browser;
let tenantKey: string;
let clipPath: string;
let garbagePath: string;
let jobId: string;

interface OpenPage {
  page: Page;
  /** Console errors and uncaught exceptions (a CSP violation shows up here too). */
  errors: string[];
  close(): Promise<void>;
}

async function open(
  viewport: { width: number; height: number },
  options: { mobile?: boolean } = {},
): Promise<OpenPage> {
  const mobile = options.mobile ?? false;
  const context = await browser.newContext({
    viewport,
    deviceScaleFactor: mobile ? 2 : 1,
    isMobile: mobile,
    hasTouch: mobile,
    reducedMotion: "reduce",
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  return { page, errors, close: () => context.close() };
}

async function signIn(page: Page, key: string) {
  await page.goto(stack.apiUrl);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("heading", { name: "New job" }).waitFor();
}

/** axe-core in the page; only serious and critical violations fail the test. */
async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource); // evaluated through the DevTools protocol: not subject to the CSP
  const results = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(c: Document, o: object): Promise<AxeResults> } }).axe;
    return axe.run(document, { resultTypes: ["violations"] });
  });
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}

interface AxeResults {
  violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
}

/**
 * Elements that stick out past `width` CSS pixels (nothing may scroll sideways). Measured against
 * the viewport asked for: a phone browser zooms out to fit wide content, which hides overflow from
 * the page's own clientWidth.
 */
function overflowing(page: Page, width: number): Promise<string[]> {
  return page.evaluate((width) => {
    if (document.documentElement.scrollWidth <= width) return [];
    return [...document.querySelectorAll<HTMLElement>("body *")]
      .filter((e) => e.getBoundingClientRect().right > width + 1)
      .slice(0, 8)
      .map(
        (e) =>
          `${e.tagName.toLowerCase()}.${e.className} (right ${Math.round(e.getBoundingClientRect().right)})`,
      );
  }, width);
}

/** A full-page shot starts from the top, or the sticky header is drawn mid-page where it was. */
async function shot(page: Page, name: string, fullPage = true) {
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage, animations: "disabled" });
}

/** In the page: waits for a media element's metadata, then (seconds > 0) plays it muted that long. */
async function playMedia(media: HTMLMediaElement, seconds: number) {
  const deadline = Date.now() + 30_000;
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  while (media.readyState < 1) {
    if (media.error) throw new Error(`media error ${media.error.code}: ${media.error.message}`);
    if (Date.now() > deadline) throw new Error("no metadata");
    await wait(50);
  }
  if (seconds <= 0) return { duration: media.duration, played: 0, width: 0 };
  media.scrollIntoView({ block: "center" });
  media.muted = true;
  await media.play();
  while (media.currentTime < seconds) {
    if (Date.now() > deadline) {
      const buffered = Array.from({ length: media.buffered.length }, (_, i) => [
        media.buffered.start(i),
        media.buffered.end(i),
      ]);
      throw new Error(
        `playback stuck at ${media.currentTime} s (readyState ${media.readyState}, paused ${media.paused}, buffered ${JSON.stringify(buffered)})`,
      );
    }
    await wait(50);
  }
  media.pause();
  return {
    duration: media.duration,
    played: media.currentTime,
    width: (media as HTMLVideoElement).videoWidth ?? 0,
  };
}

/**
 * In the page: plays a media element muted from the start to its end, as a viewer would, and
 * says how far it got, what it decoded (audio bytes: a silent stream plays too) and any error.
 */
async function playThrough(media: HTMLMediaElement) {
  const deadline = Date.now() + 45_000;
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  while (media.readyState < 1) {
    if (media.error) throw new Error(`media error ${media.error.code}: ${media.error.message}`);
    if (Date.now() > deadline) throw new Error("no metadata");
    await wait(50);
  }
  media.scrollIntoView({ block: "center" });
  media.muted = true;
  let ended = false;
  media.addEventListener("ended", () => {
    ended = true;
  });
  await media.play();
  while (!ended && Date.now() < deadline && !media.error) await wait(50);
  const video = media as HTMLVideoElement & {
    webkitAudioDecodedByteCount?: number;
    getVideoPlaybackQuality(): { totalVideoFrames: number };
  };
  return {
    ended,
    error: media.error ? `${media.error.code}: ${media.error.message}` : null,
    currentTime: media.currentTime,
    duration: media.duration,
    frames: video.getVideoPlaybackQuality().totalVideoFrames,
    audioBytes: video.webkitAudioDecodedByteCount ?? 0,
  };
}

beforeAll(async () => {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `no Chromium at ${chromiumPath}: ./dev setup installs Debian's chromium (or set FW_CHROMIUM)`,
    );
  }
  await buildWebAssets(); // the page under test is the one in edge/web/src now
  await mkdir(shots, { recursive: true });
  dir = await mkdtemp(join(tmpdir(), "fw-browser-"));
  [stack, clipPath, garbagePath, browser] = await Promise.all([
    startStack({ dataDir: join(dir, "data"), ports: { api: 0, gateway: 0, nats: 0 }, output: "files" }),
    makeClip(join(dir, "clip.mp4"), { seconds: clipSeconds, width: 640, height: 360, fps: 25 }),
    makeGarbage(join(dir, "broken.mp4")),
    chromium.launch({
      executablePath: chromiumPath,
      args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    }),
  ]);
  // A tenant's key without admin scope, issued through the admin API.
  const admin = createFramewireClient({ baseUrl: stack.apiUrl, apiKey: stack.apiKey });
  const issued = await admin.admin.createKey(stack.tenantId, {
    name: "browser",
    scopes: ["jobs:read", "jobs:write"],
  });
  if (!issued.ok) throw new Error(`key: ${JSON.stringify(issued.problem)}`);
  tenantKey = issued.data.key;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the web console in Chromium", () => {
  it("uploads a clip, shows every output's bar reach 100, then plays and shows the outputs", async () => {
    const { page, errors, close } = await open({ width: 1280, height: 900 });
    // Every value each output's progress bar takes, recorded in the page as it changes.
    await page.addInitScript(() => {
      const seen: Record<string, number[]> = {};
      (window as unknown as { barValues: typeof seen }).barValues = seen;
      new MutationObserver(() => {
        for (const bar of document.querySelectorAll<HTMLElement>('[role="progressbar"][id^="bar-"]')) {
          const value = Number(bar.getAttribute("aria-valuenow"));
          const list = seen[bar.id] ?? [];
          seen[bar.id] = list;
          if (list.at(-1) !== value) list.push(value);
        }
      }).observe(document, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ["aria-valuenow"],
      });
    });

    await page.goto(stack.apiUrl);
    await page.getByRole("heading", { name: "Sign in with an API key" }).waitFor();
    await shot(page, "01-sign-in");
    await page.getByLabel("API key").fill("fw_notakey");
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByText("This key was not accepted").waitFor();
    errors.length = 0; // the 401 that refusal logged was the point
    await page.getByLabel("API key").fill(tenantKey);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("heading", { name: "New job" }).waitFor();
    // A tenant key: no fleet, no dead letters.
    expect(await page.getByRole("heading", { name: "Fleet" }).count()).toBe(0);

    await page.locator("#file-input").setInputFiles(clipPath);
    for (const preset of ["HLS ladder", "DASH", "Audio (AAC, loudness)", "Analysis"])
      await page.getByLabel(preset).check();
    expect(await page.getByLabel("MP4 720p").isChecked()).toBe(true);
    expect(await page.getByLabel("Thumbnails + storyboard").isChecked()).toBe(true);
    await shot(page, "02-new-job");
    await page.getByRole("button", { name: "Start job" }).click();

    const panel = page.getByRole("region", { name: /^Job job_/ });
    await panel.waitFor();
    jobId = ((await panel.locator(".job-title code").textContent()) ?? "").trim();
    expect(jobId).toMatch(/^job_/);
    // Best effort: catch the bars moving (a short clip may finish before a frame is drawn).
    await page
      .waitForFunction(
        () =>
          [...document.querySelectorAll('[role="progressbar"][id^="bar-"]')].some((bar) => {
            const value = Number(bar.getAttribute("aria-valuenow"));
            return value > 5 && value < 90;
          }),
        undefined,
        { timeout: 15_000, polling: 20 },
      )
      .catch(() => {});
    await shot(page, "03-job-in-progress", false);
    await panel.getByText("Succeeded", { exact: true }).waitFor({ timeout: 60_000 });

    const outputs = ["mp4-720p", "hls", "dash", "thumbnails", "audio", "analysis"];
    const bars = await page.evaluate(
      () => (window as unknown as { barValues: Record<string, number[]> }).barValues,
    );
    for (const name of outputs) {
      const values = bars[`bar-${name}`] ?? [];
      expect(values.at(-1), `${name}: ${values.join(",")}`).toBe(100);
      expect(
        [...values].sort((a, b) => a - b),
        `${name} never goes backwards`,
      ).toEqual(values);
      expect(
        await panel.getByRole("progressbar", { name: `${name} progress` }).getAttribute("aria-valuenow"),
      ).toBe("100");
    }

    // The MP4 plays, and is as long as the clip.
    const mp4 = await panel.locator('video[aria-label="mp4-720p video"]').evaluate(playMedia, 0.5);
    expect(mp4.duration).toBeGreaterThan(clipSeconds - 0.15);
    expect(mp4.duration).toBeLessThan(clipSeconds + 0.15);
    expect(mp4.width).toBe(640); // never upscaled past the input
    // The HLS ladder plays through hls.js, every playlist and segment on its own signed link. It
    // shares its ladder with the DASH output (CMAF, the audio as its own rendition group): sound too.
    const hls = await panel.locator('video[aria-label="hls stream"]').evaluate(playMedia, 0.5);
    expect(hls.duration).toBeGreaterThan(clipSeconds - 0.3);
    expect(hls.duration).toBeLessThan(clipSeconds + 0.3);
    expect(
      await panel
        .locator('video[aria-label="hls stream"]')
        .evaluate((v) => (v as { webkitAudioDecodedByteCount?: number }).webkitAudioDecodedByteCount ?? 0),
    ).toBeGreaterThan(0);
    // The DASH manifest plays through dash.js from start to end: every frame of the clip, with its
    // audio, the segments being the HLS output's own (stored once), each on its signed link.
    const dash = await panel.locator('video[aria-label="dash stream"]').evaluate(playThrough);
    expect(dash.error).toBeNull();
    expect(dash.ended).toBe(true);
    expect(Math.abs(dash.duration - clipSeconds)).toBeLessThan(0.1);
    expect(dash.currentTime).toBeGreaterThanOrEqual(dash.duration - 0.05);
    expect(dash.frames).toBeGreaterThanOrEqual(clipSeconds * 25 - 1);
    expect(dash.audioBytes).toBeGreaterThan(0);
    await panel.getByText("Segments shared with").waitFor();
    // Audio: its length only (headless Chromium has no sound device to pace playback).
    const audio = await panel.locator('audio[aria-label="audio audio"]').evaluate(playMedia, 0);
    expect(Math.abs(audio.duration - clipSeconds)).toBeLessThan(0.2);

    // Thumbnails and the sprite decode as images; the storyboard shows a tile.
    const thumbs = panel.locator('ul[aria-label="Thumbnails"] img');
    expect(await thumbs.count()).toBe(8);
    await panel.getByRole("img", { name: /^Storyboard tile for/ }).waitFor();
    const images = panel.locator('ul[aria-label="Thumbnails"] img, img.sprite-sheet');
    await page.waitForFunction(
      (els) => els.every((img) => (img as HTMLImageElement).complete),
      await images.elementHandles(),
    );
    const widths = await images.evaluateAll((els) =>
      els.map((img) => (img as HTMLImageElement).naturalWidth),
    );
    expect(widths).toHaveLength(9);
    for (const w of widths) expect(w).toBeGreaterThan(0);

    // Analysis facts and a download link that works.
    const analysis = panel.locator('li[data-output="analysis"] dl.facts');
    expect(await analysis.textContent()).toContain("0:04.0");
    const href = await panel
      .locator('li[data-output="mp4-720p"] a', { hasText: "Download" })
      .getAttribute("href");
    const download = await fetch(new URL(href ?? "", stack.apiUrl));
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("video/mp4");

    // The job shows up in the recent jobs list as succeeded.
    const row = page.getByRole("button", { name: new RegExp(`^Job ${jobId}`) });
    await row.getByText("Succeeded").waitFor();

    await panel.locator('video[aria-label="mp4-720p video"]').scrollIntoViewIfNeeded();
    expect(await overflowing(page, 1280)).toEqual([]);
    await shot(page, "04-job-succeeded");
    expect(await axeViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await close();
  }, 90_000);

  it("shows an animated preview on the job card and in the job, and a waveform for the audio", async () => {
    const { page, errors, close } = await open({ width: 1280, height: 900 });
    await signIn(page, tenantKey);
    await page.locator("#file-input").setInputFiles(clipPath);
    for (const preset of ["MP4 720p", "Thumbnails + storyboard"]) await page.getByLabel(preset).uncheck();
    for (const preset of ["Animated preview", "Waveform"]) await page.getByLabel(preset).check();
    await page.getByRole("button", { name: "Start job" }).click();
    const panel = page.getByRole("region", { name: /^Job job_/ });
    await panel.getByText("Succeeded", { exact: true }).waitFor({ timeout: 60_000 });
    const id = ((await panel.locator(".job-title code").textContent()) ?? "").trim();

    const decoded = async (img: Locator) => {
      await img.waitFor();
      await page.waitForFunction((el) => (el as HTMLImageElement).complete, await img.elementHandle());
      return img.evaluate((el) => {
        const i = el as HTMLImageElement;
        return { width: i.naturalWidth, height: i.naturalHeight, src: i.currentSrc };
      });
    };
    // In the job: the 480-wide animated WebP, and its facts (4 s of the clip at the default rate).
    const animation = await decoded(panel.locator("img.animation"));
    expect(animation.width).toBe(480);
    const webp = Buffer.from(await (await fetch(animation.src)).arrayBuffer());
    expect(webp.subarray(0, 4).toString()).toBe("RIFF");
    expect(webp.includes(Buffer.from("ANIM")), "an animated WebP, not a still").toBe(true);
    expect(await panel.locator('li[data-output="preview"]').textContent()).toMatch(/\d+ frames at \d+ fps/);
    // The waveform picture at the asked size, named for the audio's length.
    const waveform = await decoded(panel.locator("img.waveform"));
    expect([waveform.width, waveform.height]).toEqual([1200, 160]);
    await panel.getByRole("img", { name: /^Waveform of the audio, 0:04/ }).waitFor();
    // The job's card in the list carries the same preview.
    const card = page.getByRole("button", { name: new RegExp(`^Job ${id}`) });
    await card.getByText("Succeeded").waitFor();
    const cardPreview = card.locator("img.job-preview");
    await cardPreview.waitFor();
    await page.waitForFunction(
      (el) => (el as HTMLImageElement).naturalWidth > 0,
      await cardPreview.elementHandle(),
    );
    await shot(page, "05-previews");
    expect(await axeViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await close();
  }, 90_000);

  it("shows a failed job's readable reason", async () => {
    const { page, errors, close } = await open({ width: 1280, height: 900 });
    await signIn(page, tenantKey);
    await page.locator("#file-input").setInputFiles(garbagePath);
    await page.getByLabel("MP4 720p").uncheck();
    await page.getByLabel("Thumbnails + storyboard").uncheck();
    await page.getByLabel("Analysis").check();
    await page.getByRole("button", { name: "Start job" }).click();
    const panel = page.getByRole("region", { name: /^Job job_/ });
    await panel.getByText("Failed", { exact: true }).waitFor({ timeout: 30_000 });
    const alert = panel.getByRole("alert");
    expect(await alert.textContent()).toContain("input_unreadable");
    // The attempt's log, as text (FFmpeg logs nothing for bytes it can't recognise at all: here
    // the node's account of the failure).
    const logs = panel.getByRole("region", { name: "Logs" });
    await logs.locator(".log-line").first().waitFor({ timeout: 10_000 });
    expect(await logs.locator("summary").first().textContent()).toMatch(/Attempt 1: failed on node-1/);
    expect(await logs.locator(".log-line").first().textContent()).toMatch(
      /error\s*node\s*input_unreadable: /,
    );
    await shot(page, "05-job-failed", false);
    expect(await axeViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await close();
  }, 60_000);

  it("fits a phone: one column, nothing wider than the screen", async () => {
    const { page, errors, close } = await open({ width: 375, height: 812 }, { mobile: true });
    await signIn(page, tenantKey);
    expect(await overflowing(page, 375)).toEqual([]);
    await shot(page, "06-phone-new-job", false);
    await page.getByRole("button", { name: new RegExp(`^Job ${jobId}`) }).click();
    const panel = page.getByRole("region", { name: /^Job job_/ });
    await panel.getByText("Succeeded", { exact: true }).waitFor();
    await panel.locator('video[aria-label="mp4-720p video"]').waitFor();
    expect(await overflowing(page, 375)).toEqual([]);
    await panel.scrollIntoViewIfNeeded();
    console.log(
      "OVERFLOW",
      await overflowing(page, 375),
      await page.evaluate(() => [
        document.documentElement.scrollWidth,
        document.documentElement.clientWidth,
        window.innerWidth,
      ]),
    );
    await shot(page, "07-phone-job");
    expect(await axeViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await close();
  }, 60_000);

  it("shows an admin the fleet and the dead letters, with untrusted text escaped", async () => {
    // A dead letter as a node writes one when a job exhausts its deliveries (test/fault drives the
    // real exhaustion); its error text is hostile on purpose.
    const nc = await connect({ servers: stack.natsUrl });
    const hostile = `<img src=x onerror="document.title='pwned'"> decoder crashed`;
    await writeDeadLetter(jetstream(nc), {
      job: {
        job_id: jobId,
        tenant_id: stack.tenantId,
        spec: {
          input: { type: "url", url: "https://media.example/in.mp4" },
          outputs: [{ name: "probe", type: "analysis", analysis: "probe" }],
          priority: "default",
          accel: "auto",
        },
        input_key: null,
      },
      subject: "fw.jobs.cpu.default",
      attempts: 5,
      lastError: { code: "engine_failure", message: hostile },
    });
    await nc.close();

    const { page, errors, close } = await open({ width: 1280, height: 900 });
    await signIn(page, stack.apiKey);
    const fleet = page.getByRole("region", { name: "Fleet" });
    await fleet.getByRole("heading", { name: "node-1" }).waitFor();
    expect(await fleet.getByRole("list", { name: "node-1 encoders" }).textContent()).toContain("libx264");
    expect(await fleet.getByRole("progressbar", { name: "node-1 slots in use" }).count()).toBe(1);
    const letters = page.getByRole("region", { name: "Dead letters" });
    await letters.getByText(jobId).waitFor();
    expect(await letters.getByText(hostile).count()).toBe(1); // shown as text
    expect(await letters.locator("img").count()).toBe(0); // never as markup
    expect(await page.title()).not.toBe("pwned");
    await page.getByRole("heading", { name: "Fleet" }).scrollIntoViewIfNeeded();
    expect(await overflowing(page, 1280)).toEqual([]);
    await shot(page, "08-admin-fleet");
    expect(await axeViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await close();
  }, 60_000);
});
