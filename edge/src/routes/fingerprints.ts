import {
  type FingerprintMatch,
  type FingerprintMatches,
  FramewireError,
  fingerprintMatchQuerySchema,
} from "@framewire/shared";
import { Hono } from "hono";
import { requireScope } from "../auth/authenticate";
import type { EdgeEnv } from "../env";
import {
  compareChromaprints,
  compareFrameHashes,
  decodeChromaprint,
  framePairs,
  pictureHashes,
} from "../fingerprints/compare";
import { findFingerprint, tenantFingerprints } from "../fingerprints/repository";
import { findJob } from "../jobs/repository";
import { parseOrThrow } from "../validation";

/**
 * What one query may compare, in frame pairs (a Chromaprint item counts `audioWork`). Measured on
 * the 2-core test machine: 300 fingerprints of 1,000 frames (the budget) took 2.2 s, reading and
 * parsing them included; before the hashes were parsed once, one such pair took ~300 ms. 5,000
 * fingerprints of 1,000 frames would be 5 × 10⁹ pairs; 5,000 of a minute's 120 frames, asked about
 * by one of as many, fit.
 */
const workBudget = 300_000_000;
const audioWork = 32;
/** How long a query holds the event loop before letting other requests in. */
const turnMs = 10;

/**
 * Near-duplicates: which of the tenant's earlier inputs have the same content as a job's input,
 * by the fingerprints its `fingerprint` analysis output recorded (the edge indexed them when it
 * recorded the job succeeded). Only the tenant's own fingerprints are ever read.
 */
export function fingerprintRoutes() {
  const app = new Hono<EdgeEnv>();

  app.get("/matches", requireScope("jobs:read"), async (c) => {
    const deps = c.get("deps");
    const { tenantId } = c.get("auth");
    const query = parseOrThrow(fingerprintMatchQuerySchema, c.req.query(), "query");
    const job = await findJob(deps.db, tenantId, query.job);
    if (!job) throw new FramewireError("not_found", `No job ${query.job}.`);
    const mine = await findFingerprint(deps.db, tenantId, job.id, query.output);
    if (!mine) {
      const why =
        job.status === "succeeded"
          ? `job ${job.id} has no fingerprint analysis output${query.output ? ` named ${query.output}` : ""} with audio or pictures`
          : `job ${job.id} is ${job.status}; its fingerprint is indexed once it has succeeded`;
      throw new FramewireError(
        job.status === "succeeded" ? "not_found" : "conflict",
        `No fingerprint: ${why}.`,
      );
    }
    const audio = mine.chromaprint ? decodeChromaprint(mine.chromaprint) : null;
    const frames = pictureHashes(mine.frameHashes);
    const matches: (FingerprintMatch & { best: number })[] = [];
    let compared = 0;
    let complete = true;
    let spent = 0;
    let turnBegan = performance.now();
    for await (const other of tenantFingerprints(deps.db, tenantId, job.id)) {
      const theirs = audio && other.chromaprint ? decodeChromaprint(other.chromaprint) : null;
      const theirFrames = pictureHashes(other.frameHashes);
      const cost =
        framePairs(frames, theirFrames) + (audio && theirs ? audioWork * (audio.length + theirs.length) : 0);
      if (spent + cost > workBudget) {
        complete = false;
        break;
      }
      spent += cost;
      compared++;
      const sound = audio && theirs ? compareChromaprints(audio, theirs) : null;
      const picture = compareFrameHashes(frames, theirFrames);
      if (sound || picture) {
        matches.push({
          job_id: other.jobId,
          output: other.output,
          input: other.input,
          created_at: new Date(other.createdAt).toISOString(),
          audio: sound,
          picture,
          best: Math.max(sound?.similarity ?? 0, picture?.similarity ?? 0),
        });
      }
      // Other requests are answered meanwhile: a long query takes turns, not the process.
      if (performance.now() - turnBegan > turnMs) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        turnBegan = performance.now();
      }
    }
    matches.sort((a, b) => b.best - a.best);
    const body: FingerprintMatches = {
      job_id: job.id,
      output: mine.output,
      data: matches.slice(0, query.limit).map(({ best: _best, ...match }) => match),
      compared,
      complete,
    };
    return c.json(body);
  });

  return app;
}
