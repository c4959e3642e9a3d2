import type { ProgressTick } from "@framewire/shared/client";
import { useEffect, useRef, useState } from "preact/hooks";
import { type Api, describeProblem, type Job, liveOutput } from "../api";
import { formatAgo, formatEta, formatTime } from "../format";
import { isFinal, useJob } from "../use-job";
import { JobLogs } from "./job-logs";
import { Downloads, OutputResult } from "./outputs";
import { ProgressBar } from "./progress-bar";
import { Alert, Card, StatusBadge } from "./ui";

type SpecOutput = Job["spec"]["outputs"][number];

const typeLabels: Record<string, string> = {
  video: "Video",
  hls: "HLS",
  dash: "DASH",
  audio: "Audio",
  thumbnails: "Thumbnails",
  analysis: "Analysis",
  animation: "Animation",
  waveform: "Waveform",
};

export function JobPanel(props: { api: Api; jobId: string; onChanged(): void; onClose(): void }) {
  const { job, ticks, live, error, restart } = useJob(props.api, props.jobId);
  const [actionError, setActionError] = useState<string | null>(null);
  const [acting, setActing] = useState(false);
  const announcement = useAnnouncements(job, ticks);
  const heading = useRef<HTMLHeadingElement>(null);

  const status = job?.status;
  const { onChanged } = props;
  useEffect(() => {
    // The list beside the panel shows each new state at once, not at its next refresh.
    if (status) onChanged();
  }, [status, onChanged]);

  useEffect(() => {
    // A newly selected job takes the focus, so keyboard and screen-reader users land on it.
    heading.current?.focus();
  }, [props.jobId]);

  const act = async (what: "cancel" | "retry") => {
    setActing(true);
    setActionError(null);
    const res =
      what === "cancel" ? await props.api.jobs.cancel(props.jobId) : await props.api.jobs.retry(props.jobId);
    setActing(false);
    if (!res.ok) setActionError(describeProblem(res.problem, res.status));
    restart();
    props.onChanged();
  };

  const title = (
    <span class="job-title" ref={heading} tabIndex={-1}>
      Job <code>{props.jobId}</code>
    </span>
  );
  const actions = (
    <>
      {job ? <StatusBadge status={job.status} /> : null}
      {job && !isFinal(job.status) ? (
        <button
          type="button"
          class="btn btn-danger-ghost btn-sm"
          disabled={acting}
          onClick={() => act("cancel")}
        >
          Cancel job
        </button>
      ) : null}
      {job?.status === "failed" ? (
        <button type="button" class="btn btn-secondary btn-sm" disabled={acting} onClick={() => act("retry")}>
          Retry
        </button>
      ) : null}
      <button type="button" class="btn btn-ghost btn-sm" onClick={props.onClose} aria-label="Close this job">
        Close
      </button>
    </>
  );

  return (
    <Card title={title} titleId="job-title" actions={actions} class="job-panel">
      <p class="sr-only" aria-live="polite" aria-atomic="true">
        {announcement}
      </p>
      {error ? <Alert kind="error">{error}</Alert> : null}
      {actionError ? <Alert kind="error">{actionError}</Alert> : null}
      {!job ? (
        <p class="muted" aria-busy="true">
          Loading the job…
        </p>
      ) : (
        <>
          <JobMeta job={job} live={live} />
          {job.status === "failed" && job.error ? (
            <Alert kind="error" title="The job failed">
              {job.error.message} <code class="muted">({job.error.code})</code>
            </Alert>
          ) : null}
          {job.status === "failed" ? (
            <JobLogs api={props.api} jobId={job.id} attempts={job.attempts} />
          ) : null}
          {job.status === "canceled" ? <Alert kind="info">This job was canceled.</Alert> : null}
          <ol class="output-list" aria-label="Outputs">
            {job.spec.outputs.map((spec) => (
              <OutputItem key={spec.name} job={job} spec={spec} tick={ticks[spec.name]} />
            ))}
          </ol>
        </>
      )}
    </Card>
  );
}

function JobMeta({ job, live }: { job: Job; live: string }) {
  const source = job.spec.input;
  const input = !source
    ? `inputs ${Object.keys(job.spec.inputs ?? {}).join(", ")}`
    : source.type === "url"
      ? source.url
      : source.type === "upload"
        ? `upload ${source.upload_id}`
        : `s3://${source.bucket}/${source.key}`;
  const liveText: Record<string, string> = {
    connecting: "connecting to live progress…",
    live: "live",
    reconnecting: "reconnecting…",
    polling: "checking every few seconds",
  };
  return (
    <dl class="meta">
      <div>
        <dt>Input</dt>
        <dd class="truncate" title={input}>
          {input}
        </dd>
      </div>
      <div>
        <dt>Created</dt>
        <dd title={formatTime(job.created_at)}>{formatAgo(job.created_at)}</dd>
      </div>
      <div>
        <dt>Priority</dt>
        <dd>{job.priority}</dd>
      </div>
      <div>
        <dt>Engine</dt>
        <dd>{job.engine ?? "—"}</dd>
      </div>
      <div>
        <dt>Attempts</dt>
        <dd>{job.attempts}</dd>
      </div>
      {!isFinal(job.status) ? (
        <div>
          <dt>Progress</dt>
          <dd>
            <span class={`live-dot live-${live}`} aria-hidden="true" /> {liveText[live] ?? live}
          </dd>
        </div>
      ) : (
        <div>
          <dt>Finished</dt>
          <dd title={formatTime(job.finished_at)}>{formatAgo(job.finished_at)}</dd>
        </div>
      )}
    </dl>
  );
}

function OutputItem({ job, spec, tick }: { job: Job; spec: SpecOutput; tick: ProgressTick | undefined }) {
  const result = job.outputs.find((o) => o.name === spec.name);
  const live = result ? liveOutput(result) : null;
  const done = job.status === "succeeded";
  const percent = done ? 100 : tick ? tick.percent : 0;
  const tone = done ? "done" : job.status === "failed" || job.status === "canceled" ? "failed" : "active";
  const stats = done
    ? "Done"
    : job.status === "queued"
      ? "Waiting for a processing node"
      : job.status === "running" && tick
        ? [
            tick.percent === null ? "length unknown" : `${tick.percent.toFixed(1)}%`,
            // fps and speed read 0 until the engine has timed a few frames: say nothing rather than 0.
            tick.fps > 0 ? `${Math.round(tick.fps)} fps` : null,
            tick.speed > 0 ? `${tick.speed.toFixed(1)}×` : null,
            `ETA ${formatEta(tick.eta_sec)}`,
          ]
            .filter(Boolean)
            .join(" · ")
        : job.status === "running"
          ? "Starting…"
          : "Stopped";
  const barId = `bar-${spec.name}`;
  return (
    <li class="output" data-output={spec.name}>
      <div class="output-head">
        <h3 class="output-name">
          {spec.name} <span class="tag">{typeLabels[spec.type] ?? spec.type}</span>
        </h3>
        <span class="output-stats small" id={`${barId}-stats`}>
          {stats}
        </span>
      </div>
      <ProgressBar
        id={barId}
        label={`${spec.name} progress`}
        percent={percent}
        tone={tone}
        valueText={percent === null ? "working, length unknown" : `${Math.round(percent)}%`}
      />
      {done && result ? (
        live ? (
          <div class="output-result">
            <OutputResult output={live} />
            <Downloads output={live} />
          </div>
        ) : (
          <p class="hint">
            Deleted by the retention policy{result.expires_at ? ` on ${formatTime(result.expires_at)}` : ""}.
          </p>
        )
      ) : null}
    </li>
  );
}

/** What the polite live region says: state changes and every quarter of progress, not every tick. */
function useAnnouncements(job: Job | null, ticks: Record<string, ProgressTick>): string {
  const [text, setText] = useState("");
  const last = useRef<{ status: string | null; quarter: number }>({ status: null, quarter: 0 });
  const values = Object.values(ticks).map((t) => t.percent ?? 0);
  const overall = values.length ? Math.min(...values) : 0;
  useEffect(() => {
    if (!job) return;
    if (job.status !== last.current.status) {
      last.current = { status: job.status, quarter: 0 };
      setText(
        job.status === "failed" && job.error ? `Job failed: ${job.error.message}` : `Job ${job.status}.`,
      );
      return;
    }
    const quarter = Math.floor(overall / 25);
    if (job.status === "running" && quarter > last.current.quarter && quarter < 4) {
      last.current.quarter = quarter;
      setText(`${quarter * 25}% done.`);
    }
  }, [job?.status, overall, job]);
  return text;
}
