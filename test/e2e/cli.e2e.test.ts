import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, type Stack, startStack } from "../../scripts/lib/stack";
import { ffprobe, makeClip, makeGarbage } from "../support/media";

const execFileAsync = promisify(execFile);

/** The `framewire` CLI as a user runs it, against the real stack; scripts rely on its exit codes. */

let dir: string;
let stack: Stack;
let clip: string;

async function cli(args: string[], env: Record<string, string> = {}) {
  const result = await execFileAsync(
    process.execPath,
    ["--import", "tsx", "node-worker/cli/src/main.ts", ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, FRAMEWIRE_API_URL: stack.apiUrl, FRAMEWIRE_API_KEY: stack.apiKey, ...env },
    },
  ).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
  return result;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-cli-"));
  stack = await startStack({
    dataDir: join(dir, "data"),
    ports: { api: 0, gateway: 0, nats: 0 },
    output: "files",
  });
  clip = await makeClip(join(dir, "clip.mp4"), { seconds: 2, width: 1280, height: 720 });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("framewire CLI", () => {
  it("submits a file, follows it and downloads the outputs (exit 0)", async () => {
    const out = join(dir, "out");
    const result = await cli(["submit", clip, "--preset", "360p", "480p", "--out", out]);
    expect(result.stderr).toMatch(/job job_\w+ queued/);
    expect(result.code).toBe(0);
    const files = (await readdir(out)).sort();
    expect(files).toHaveLength(2);
    expect(result.stdout.trim().split("\n")).toEqual(files.map((f) => join(out, f)));
    const { streams } = await ffprobe(join(out, files[0] as string));
    expect(streams.find((s) => s.codec_type === "video")?.height).toBe(360);
  }, 60_000);

  it("submits a composition spec file, uploading the local files it names (exit 0); refuses a bad one (exit 2)", async () => {
    const composition = {
      name: "edit",
      type: "composition",
      canvas: { width: 640, height: 360 },
      tracks: [
        {
          clips: [{ asset: { type: "text", text: "CLI" }, start_sec: 0, length_sec: 1 }],
        },
        {
          clips: [
            { asset: { type: "video", input: "a", trim: { start_sec: 0, end_sec: 2 } }, start_sec: 0 },
            {
              asset: { type: "video", input: "b", trim: { start_sec: 0, end_sec: 2 } },
              start_sec: 1.5,
              transition: { in: "crossfade", duration_sec: 0.5 },
            },
          ],
        },
      ],
    };
    // Local paths are relative to the spec file (it sits beside the clip).
    const spec = join(dir, "edit.json");
    await writeFile(spec, JSON.stringify({ inputs: { a: "clip.mp4", b: clip }, outputs: [composition] }));
    const out = join(dir, "composition-out");
    const result = await cli(["submit", "--spec", spec, "--out", out]);
    expect(result.stderr).toMatch(/job job_\w+ queued \(edit\.json\)/);
    expect(result.code).toBe(0);
    const files = await readdir(out);
    expect(files).toHaveLength(1);
    const { streams, format } = await ffprobe(join(out, files[0] as string));
    expect(streams.find((s) => s.codec_type === "video")?.height).toBe(360);
    expect(Number(format.duration)).toBeCloseTo(3.5, 0);

    const bad = join(dir, "bad.json");
    await writeFile(
      bad,
      JSON.stringify({ inputs: { a: "clip.mp4", b: "nowhere.mp4" }, outputs: [composition] }),
    );
    const refused = await cli(["submit", "--spec", bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("inputs.b: no such file");
    expect((await cli(["submit", clip, "--spec", spec])).code).toBe(2);
  }, 90_000);

  it("exits 1 with the reason when the job fails", async () => {
    const result = await cli([
      "submit",
      await makeGarbage(join(dir, "garbage.mp4")),
      "--out",
      join(dir, "none"),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/failed: input_unreadable/);
  }, 60_000);

  it("exits 2 on a bad command line, 3 when the API refuses, 4 when it can't be reached", async () => {
    expect((await cli(["submit", clip, "--preset", "4k"])).code).toBe(2);
    expect((await cli(["submit", join(dir, "missing.mp4")])).code).toBe(2);
    const refused = await cli(["jobs", "list"], {
      FRAMEWIRE_API_KEY: `fw_${"a".repeat(12)}_${"b".repeat(40)}`,
    });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/unauthorized/);
    expect((await cli(["jobs", "list"], { FRAMEWIRE_API_URL: "http://127.0.0.1:9" })).code).toBe(4);
  }, 60_000);

  it("lets an admin create a tenant and a key, rotate it, and revoke it; refuses non-admins (exit 3)", async () => {
    const tenant = await cli(["tenants", "create", "acme"]);
    expect(tenant.code).toBe(0);
    const tenantId = tenant.stdout.trim();
    const created = await cli([
      "keys",
      "create",
      "--tenant",
      tenantId,
      "--name",
      "ci",
      "--scope",
      "jobs:read",
    ]);
    expect(created.code).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^fw_/);
    // The new key works, for reading only.
    expect((await cli(["jobs", "list"], { FRAMEWIRE_API_KEY: secret })).code).toBe(0);
    const notAdmin = await cli(["keys", "list"], { FRAMEWIRE_API_KEY: secret });
    expect(notAdmin.code).toBe(3);
    expect(notAdmin.stderr).toMatch(/forbidden/);

    const listed = JSON.parse((await cli(["keys", "list", "--tenant", tenantId, "--json"])).stdout) as {
      id: string;
      request_count: number;
    }[];
    expect(listed).toHaveLength(1);
    const keyId = listed[0]?.id ?? "";

    // Rotation with no grace: the new secret works, the old one is refused at once.
    const rotated = await cli(["keys", "rotate", keyId, "--grace", "0"]);
    expect(rotated.code).toBe(0);
    const newSecret = rotated.stdout.trim();
    expect(newSecret).toMatch(/^fw_/);
    expect(newSecret).not.toBe(secret);
    expect((await cli(["jobs", "list"], { FRAMEWIRE_API_KEY: secret })).code).toBe(3);
    expect((await cli(["jobs", "list"], { FRAMEWIRE_API_KEY: newSecret })).code).toBe(0);

    const newId = (
      JSON.parse((await cli(["keys", "list", "--tenant", tenantId, "--json"])).stdout) as { id: string }[]
    )
      .map((k) => k.id)
      .find((id) => id !== keyId);
    const revoked = await cli(["keys", "revoke", newId ?? ""]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/revoked/);
    expect((await cli(["jobs", "list"], { FRAMEWIRE_API_KEY: newSecret })).code).toBe(3);
    expect(
      (await cli(["keys", "create", "--tenant", tenantId, "--name", "x", "--expires", "soon"])).code,
    ).toBe(2);
  }, 60_000);

  it("lists, shows and cancels jobs", async () => {
    const list = await cli(["jobs", "list", "--json"]);
    expect(list.code).toBe(0);
    const jobs = (JSON.parse(list.stdout) as { data: { id: string; status: string }[] }).data;
    expect(jobs.map((j) => j.status)).toEqual(expect.arrayContaining(["succeeded", "failed"]));
    const show = await cli(["jobs", "show", jobs[0]?.id ?? ""]);
    expect(JSON.parse(show.stdout)).toMatchObject({ id: jobs[0]?.id });
    const cancel = await cli(["jobs", "cancel", jobs[0]?.id ?? ""]);
    expect(cancel.code).toBe(3);
    expect(cancel.stderr).toMatch(/conflict/);
  }, 60_000);
});
