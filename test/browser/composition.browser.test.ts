import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWebAssets } from "../../edge/web/build";
import { type Stack, startStack } from "../../scripts/lib/stack";
import { ffprobe, makeClip } from "../support/media";

/**
 * The console's simple composition form in Chromium against the real local stack: two uploads, a
 * crossfade, a logo, a title and a music bed, the timeline shown before the render, and the
 * rendered composition playing in the job's panel.
 */
const chromiumPath = process.env.FW_CHROMIUM ?? "/usr/bin/chromium";
const run = promisify(execFile);

let dir: string;
let stack: Stack;
let browser: Browser;
let clips: string[];
let logo: string;
let music: string;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath} (set FW_CHROMIUM)`);
  await buildWebAssets();
  dir = await mkdtemp(join(tmpdir(), "fw-browser-composition-"));
  logo = join(dir, "logo.png");
  music = join(dir, "music.m4a");
  [stack, browser, clips] = await Promise.all([
    startStack({ dataDir: join(dir, "data"), ports: { api: 0, gateway: 0, nats: 0 }, output: "files" }),
    chromium.launch({
      executablePath: chromiumPath,
      args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    }),
    Promise.all(
      ["one", "two"].map((n) => makeClip(join(dir, `${n}.mp4`), { seconds: 3, width: 640, height: 360 })),
    ),
    run("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "color=c=red:s=120x60", "-frames:v", "1", logo]),
    run("ffmpeg", [
      ...["-v", "error", "-f", "lavfi", "-i", "sine=frequency=220:sample_rate=48000:duration=8"],
      ...["-c:a", "aac", music],
    ]),
  ]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the console's composition form", () => {
  it("uploads two clips, a logo and a music bed, shows the timeline, renders and plays the result", async () => {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      reducedMotion: "reduce",
    });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(String(e)));

    await page.goto(stack.apiUrl);
    await page.getByLabel("API key").fill(stack.apiKey);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("heading", { name: "New composition" }).waitFor();

    // One clip alone is refused in the page, before any upload.
    await page.getByLabel("Clips (two or more, in order)").setInputFiles([clips[0] as string]);
    await page.getByRole("button", { name: "Render composition" }).click();
    await page.getByText("Choose two or more clips.").waitFor();

    await page.getByLabel("Clips (two or more, in order)").setInputFiles(clips);
    await page.getByLabel("Transition").selectOption("crossfade");
    await page.getByLabel("Title").fill("Our trip");
    await page.getByLabel("Logo (image, top right)").setInputFiles(logo);
    await page.getByLabel("Music bed (lowered under the clips' sound)").setInputFiles(music);
    // The timeline preview: two 2.9 s clips (a little short of the files), overlapping by 0.5 s.
    const preview = page.getByRole("region", { name: "Timeline preview" });
    await preview
      .getByText("2 clips, 0:05 in all, logo on top, title over the first seconds, music bed.")
      .waitFor();
    expect(await preview.locator("li").allTextContents()).toEqual([
      "one.mp4 0:00.0 → 0:02.9",
      "two.mp4 0:02.4 → 0:05.3",
    ]);

    await page.getByRole("button", { name: "Render composition" }).click();
    const panel = page.getByRole("region", { name: /^Job job_/ });
    await panel.waitFor();
    await panel.getByText("Succeeded", { exact: true }).waitFor({ timeout: 90_000 });

    // The result plays in the panel, as long as the timeline, at the canvas's size.
    const video = panel.locator('video[aria-label="composition video"]');
    const facts = await video.evaluate(async (media: HTMLVideoElement) => {
      const deadline = Date.now() + 30_000;
      while (media.readyState < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      media.muted = true;
      await media.play();
      while (media.currentTime < 0.5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      media.pause();
      return { duration: media.duration, width: media.videoWidth, played: media.currentTime, src: media.src };
    });
    expect(facts.duration).toBeGreaterThan(5.2);
    expect(facts.duration).toBeLessThan(5.45);
    expect(facts.width).toBe(1280);
    expect(facts.played).toBeGreaterThanOrEqual(0.5);
    // The file itself: picture and the mixed sound.
    const file = join(dir, "result.mp4");
    const body = Buffer.from(await (await fetch(facts.src)).arrayBuffer());
    await import("node:fs/promises").then((fs) => fs.writeFile(file, body));
    const { streams } = await ffprobe(file);
    expect(streams.map((s) => s.codec_type).sort()).toEqual(["audio", "video"]);
    expect(errors).toEqual([]);
    await context.close();
  }, 180_000);
});
