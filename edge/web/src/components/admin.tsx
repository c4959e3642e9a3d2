import type { DeadLetterMessage } from "@framewire/shared/client";
import { useCallback, useEffect, useState } from "preact/hooks";
import { type Api, describeProblem, type FleetSummary } from "../api";
import { formatAgo, formatTime } from "../format";
import { ProgressBar } from "./progress-bar";
import { Alert, Card, Empty } from "./ui";

/** Polls an admin endpoint while the page is visible. */
function usePolled<T>(
  load: () => Promise<{ ok: true; data: T } | { ok: false; error: string }>,
  everyMs: number,
) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const refresh = useCallback(async () => {
    const res = await load();
    if (res.ok) {
      setData(res.data);
      setError(null);
    } else setError(res.error);
  }, [load]);
  useEffect(() => {
    void refresh();
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") void refresh();
    }, everyMs);
    return () => clearInterval(timer);
  }, [refresh, everyMs]);
  return { data, error, refresh };
}

const encoderPreview = 6;

export function FleetPanel({ api }: { api: Api }) {
  const load = useCallback(async () => {
    const res = await api.fleet();
    return res.ok
      ? { ok: true as const, data: res.data }
      : { ok: false as const, error: describeProblem(res.problem, res.status) };
  }, [api]);
  const { data, error } = usePolled<FleetSummary>(load, 5000);
  return (
    <Card title="Fleet" titleId="fleet-title">
      {error ? <Alert kind="error">{error}</Alert> : null}
      {!data ? (
        <p class="muted">Loading…</p>
      ) : (
        <>
          <dl class="stats">
            <div>
              <dt>Nodes active</dt>
              <dd>{data.active}</dd>
            </div>
            <div>
              <dt>Busy</dt>
              <dd>{data.busy}</dd>
            </div>
            <div>
              <dt>Idle</dt>
              <dd>{data.idle}</dd>
            </div>
            <div>
              <dt>Slots in use</dt>
              <dd>
                {data.slots.busy} / {data.slots.total}
              </dd>
            </div>
          </dl>
          {data.data.length === 0 ? (
            <Empty>
              No processing node has sent a heartbeat. Start one with `npm start` or the node image.
            </Empty>
          ) : (
            <ul class="node-list">
              {data.data.map((node) => (
                <li key={node.id} class="node">
                  <div class="node-head">
                    <h3 class="node-name">{node.id}</h3>
                    <span class="muted small" title={formatTime(node.at)}>
                      beat {formatAgo(node.at)}
                    </span>
                  </div>
                  <p class="small muted">
                    {node.host} · pools {node.pools.join(", ")} · engine <strong>{node.engine}</strong> · v
                    {node.version}
                  </p>
                  <div class="slots">
                    <span class="small">
                      Slots {node.slots.busy} / {node.slots.total} busy
                    </span>
                    <ProgressBar
                      label={`${node.id} slots in use`}
                      percent={node.slots.total ? (node.slots.busy / node.slots.total) * 100 : 0}
                      valueText={`${node.slots.busy} of ${node.slots.total} slots busy`}
                      tone="idle"
                    />
                  </div>
                  <ul class="chips" aria-label={`${node.id} encoders`}>
                    {node.encoders.slice(0, encoderPreview).map((e) => (
                      <li key={e} class="chip">
                        {e}
                      </li>
                    ))}
                    {node.encoders.length > encoderPreview ? (
                      <li class="chip chip-more" title={node.encoders.slice(encoderPreview).join(", ")}>
                        +{node.encoders.length - encoderPreview} more
                      </li>
                    ) : null}
                    {node.hardware.map((h) => (
                      <li key={h} class="chip chip-hw">
                        {h}
                      </li>
                    ))}
                  </ul>
                  {node.jobs.length ? (
                    <p class="small">
                      Running: <code>{node.jobs.join(", ")}</code>
                    </p>
                  ) : null}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </Card>
  );
}

export function DeadLettersPanel({ api, onChanged }: { api: Api; onChanged(): void }) {
  const load = useCallback(async () => {
    const res = await api.deadLetters();
    return res.ok
      ? { ok: true as const, data: res.data.data }
      : { ok: false as const, error: describeProblem(res.problem, res.status) };
  }, [api]);
  const { data, error, refresh } = usePolled<DeadLetterMessage[]>(load, 10_000);
  const [actionError, setActionError] = useState<string | null>(null);

  const act = async (jobId: string, what: "requeue" | "drop") => {
    if (what === "drop" && !window.confirm(`Drop the dead letter of ${jobId}? The job stays failed.`)) return;
    const res =
      what === "requeue" ? await api.admin.requeueDeadLetter(jobId) : await api.admin.dropDeadLetter(jobId);
    setActionError(res.ok ? null : describeProblem(res.problem, res.status));
    await refresh();
    onChanged();
  };

  return (
    <Card title="Dead letters" titleId="dlq-title">
      <p class="hint">Jobs that exhausted their deliveries. Requeue one once its cause is fixed.</p>
      {error ? <Alert kind="error">{error}</Alert> : null}
      {actionError ? <Alert kind="error">{actionError}</Alert> : null}
      {!data ? (
        <p class="muted">Loading…</p>
      ) : data.length === 0 ? (
        <Empty>No dead letters. Every accepted job reached a final state or is still being worked on.</Empty>
      ) : (
        <ul class="letter-list">
          {data.map((letter) => (
            <li key={letter.job_id} class="letter">
              <div class="letter-head">
                <code class="letter-id">{letter.job_id}</code>
                <span class="muted small" title={formatTime(letter.dead_at)}>
                  dead {formatAgo(letter.dead_at)}
                </span>
              </div>
              <p class="small muted">
                {letter.attempts} attempts · tenant <code>{letter.tenant_id}</code> · queue{" "}
                <code>{letter.subject}</code>
              </p>
              <p class="letter-error">
                {letter.last_error ? (
                  <>
                    <code class="tag tag-error">{letter.last_error.code}</code> {letter.last_error.message}
                  </>
                ) : (
                  "No error was recorded."
                )}
              </p>
              <div class="row-actions">
                <button
                  type="button"
                  class="btn btn-secondary btn-sm"
                  onClick={() => act(letter.job_id, "requeue")}
                  aria-label={`Requeue ${letter.job_id}`}
                >
                  Requeue
                </button>
                <button
                  type="button"
                  class="btn btn-danger-ghost btn-sm"
                  onClick={() => act(letter.job_id, "drop")}
                  aria-label={`Drop ${letter.job_id}`}
                >
                  Drop
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
