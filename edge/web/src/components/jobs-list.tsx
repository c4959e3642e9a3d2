import type { JobStatus } from "@framewire/shared/client";
import { useCallback, useEffect, useState } from "preact/hooks";
import { type Api, describeProblem, type Job } from "../api";
import { formatAgo, formatTime, shortId } from "../format";
import { Alert, Card, Empty, StatusBadge, statusLabels } from "./ui";

// Type-only imports from shared: its index also carries NATS code that has no place in a page.
const jobStatuses = Object.keys(statusLabels) as JobStatus[];

/** The tenant's recent jobs, newest first, refreshed every few seconds while the page is visible. */
export function JobsList(props: {
  api: Api;
  selected: string | null;
  onSelect(id: string): void;
  version: number;
}) {
  const [status, setStatus] = useState<JobStatus | "">("");
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    const res = await props.api.jobs.list({ limit: 15, ...(status ? { status } : {}) });
    if (!res.ok) return setError(describeProblem(res.problem, res.status));
    setError(null);
    setJobs(res.data.data);
    setNext(res.data.next_cursor);
  }, [props.api, status]);

  useEffect(() => {
    void load();
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") void load();
    }, 5000);
    return () => clearInterval(timer);
  }, [load, props.version]);

  const more = async () => {
    if (!next) return;
    const res = await props.api.jobs.list({ limit: 15, cursor: next, ...(status ? { status } : {}) });
    if (!res.ok) return setError(describeProblem(res.problem, res.status));
    setJobs((j) => [...(j ?? []), ...res.data.data]);
    setNext(res.data.next_cursor);
  };

  const filter = (
    <div class="field field-inline">
      <label for="status-filter" class="small">
        Status
      </label>
      <select
        id="status-filter"
        value={status}
        onChange={(e) => setStatus(e.currentTarget.value as JobStatus | "")}
      >
        <option value="">All</option>
        {jobStatuses.map((s) => (
          <option key={s} value={s}>
            {statusLabels[s]}
          </option>
        ))}
      </select>
    </div>
  );

  return (
    <Card title="Recent jobs" titleId="jobs-title" actions={filter}>
      {error ? <Alert kind="error">{error}</Alert> : null}
      {jobs === null ? (
        <p class="muted">Loading…</p>
      ) : jobs.length === 0 ? (
        <Empty>{status ? `No ${status} jobs.` : "No jobs yet. Start one and it shows up here."}</Empty>
      ) : (
        <ul class="job-list">
          {jobs.map((job) => (
            <li key={job.id}>
              <button
                type="button"
                class={`job-row${props.selected === job.id ? " is-selected" : ""}`}
                onClick={() => props.onSelect(job.id)}
                aria-current={props.selected === job.id ? "true" : undefined}
              >
                <JobPreview job={job} />
                <span class="job-row-main">
                  <code class="job-id" title={job.id}>
                    <span class="sr-only">Job {job.id}</span>
                    <span aria-hidden="true">{shortId(job.id)}</span>
                  </code>
                  <span class="job-outputs">{job.spec.outputs.map((o) => o.name).join(", ")}</span>
                </span>
                <span class="job-row-side">
                  <StatusBadge status={job.status} />
                  <time
                    class="muted small"
                    dateTime={job.created_at ?? undefined}
                    title={formatTime(job.created_at)}
                  >
                    {formatAgo(job.created_at)}
                  </time>
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {next ? (
        <button type="button" class="btn btn-ghost btn-block" onClick={more}>
          Show older jobs
        </button>
      ) : null}
    </Card>
  );
}

/**
 * A finished job's animated preview (its first GIF or WebP animation output) on its card, as the
 * hosted media APIs show one; decorative, since the card already names the job.
 */
function JobPreview({
  job,
}: {
  job: { outputs?: { type?: string; container: string; url?: string | null }[] };
}) {
  const preview = job.outputs?.find((o) => o.type === "animation" && o.container !== "mp4" && o.url);
  if (!preview?.url) return null;
  return <img class="job-preview" src={preview.url} alt="" loading="lazy" decoding="async" />;
}
