import type { JobAttemptLog } from "@framewire/shared/client";
import { useEffect, useState } from "preact/hooks";
import { type Api, describeProblem } from "../api";

/**
 * A failed job's logs: per attempt, FFmpeg's warnings and errors and what the node did, with the
 * node and the seconds into the attempt (GET /v1/jobs/:id/logs). Every line is rendered as text.
 */
export function JobLogs(props: { api: Api; jobId: string; attempts: number }) {
  const [logs, setLogs] = useState<JobAttemptLog[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { api, jobId, attempts } = props;
  useEffect(() => {
    let live = true;
    setLogs(null);
    setError(null);
    void api.jobs.logs(jobId).then((res) => {
      if (!live) return;
      if (res.ok) setLogs(res.data.data);
      else setError(describeProblem(res.problem, res.status));
    });
    return () => {
      live = false;
    };
    // A retried job that fails again has a new attempt to show.
  }, [api, jobId, attempts]);

  if (error) return <p class="hint">The logs could not be read: {error}</p>;
  if (!logs) return <p class="muted small">Loading the logs…</p>;
  if (logs.length === 0) return <p class="hint">No log was kept for this job.</p>;
  return (
    <section class="job-logs" aria-labelledby={`logs-${jobId}`}>
      <h3 class="job-logs-title" id={`logs-${jobId}`}>
        Logs
      </h3>
      {logs.map((attempt) => (
        <details key={attempt.attempt} open={attempt.attempt === logs.at(-1)?.attempt}>
          <summary>
            Attempt {attempt.attempt}: {attempt.outcome.replace("_", " ")} on <code>{attempt.node_id}</code> (
            {attempt.engine} engine)
          </summary>
          {attempt.lines.length === 0 ? (
            <p class="hint">FFmpeg reported no warning or error.</p>
          ) : (
            <ol class="log-lines">
              {attempt.lines.map((line, i) => (
                <li key={i} class={`log-line log-${line.level}`}>
                  <span class="log-time">{line.elapsed_sec.toFixed(2)} s</span>
                  <span class="log-level">{line.level}</span>
                  <span class="log-source">{line.source === "engine" ? "FFmpeg" : "node"}</span>
                  <span class="log-message">{line.message}</span>
                </li>
              ))}
            </ol>
          )}
          {attempt.dropped > 0 ? (
            <p class="hint">{attempt.dropped} lines in the middle were left out.</p>
          ) : null}
        </details>
      ))}
    </section>
  );
}
