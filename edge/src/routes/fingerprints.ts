import {
  type FingerprintMatch,
  type FingerprintMatches,
  FramewireError,
  fingerprintMatchQuerySchema,
} from "@framewire/shared";
import { Hono } from "hono";
import { requireScope } from "../auth/authenticate";
import type { EdgeEnv } from "../env";
import { compareChromaprints, compareFrameHashes, decodeChromaprint } from "../fingerprints/compare";
import { findFingerprint, tenantFingerprints } from "../fingerprints/repository";
import { findJob } from "../jobs/repository";
import { parseOrThrow } from "../validation";

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
    const matches: (FingerprintMatch & { best: number })[] = [];
    for (const other of await tenantFingerprints(deps.db, tenantId, job.id)) {
      const theirs = audio && other.chromaprint ? decodeChromaprint(other.chromaprint) : null;
      const sound = audio && theirs ? compareChromaprints(audio, theirs) : null;
      const picture = compareFrameHashes(mine.frameHashes, other.frameHashes);
      if (!sound && !picture) continue;
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
    matches.sort((a, b) => b.best - a.best);
    const body: FingerprintMatches = {
      job_id: job.id,
      output: mine.output,
      data: matches.slice(0, query.limit).map(({ best: _best, ...match }) => match),
    };
    return c.json(body);
  });

  return app;
}
