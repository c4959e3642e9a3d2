import type { JobSpecInput, Priority } from "@framewire/shared/client";
import { useRef, useState } from "preact/hooks";
import { type Api, describeProblem, type Job } from "../api";
import { formatBytes } from "../format";
import { defaultPresetIds, outputsFor, presets } from "../presets";
import { ProgressBar } from "./progress-bar";
import { Alert, Card } from "./ui";

type Source = "upload" | "url";

export function SubmitForm(props: { api: Api; onSubmitted(job: Job): void }) {
  const [source, setSource] = useState<Source>("upload");
  const [file, setFile] = useState<File | null>(null);
  const [url, setUrl] = useState("");
  const [chosen, setChosen] = useState<string[]>(defaultPresetIds);
  const [priority, setPriority] = useState<Priority>("default");
  const [uploaded, setUploaded] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const abort = useRef<AbortController | null>(null);

  const toggle = (id: string, on: boolean) =>
    setChosen((c) =>
      (on ? [...c, id] : c.filter((x) => x !== id)).filter((x, i, all) => all.indexOf(x) === i),
    );

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    if (chosen.length === 0) return setError("Choose at least one output.");
    if (source === "upload" && !file) return setError("Choose a file to upload.");
    if (source === "url" && !/^https?:\/\//i.test(url.trim()))
      return setError("Enter an http(s) URL of a media file.");
    setBusy(true);
    abort.current = new AbortController();
    try {
      let input: JobSpecInput["input"];
      if (source === "upload" && file) {
        setUploaded(0);
        const res = await props.api.upload(file, setUploaded, abort.current.signal);
        if (!res.ok) return setError(`Upload failed: ${describeProblem(res.problem, res.status)}`);
        input = { type: "upload", upload_id: res.data.id };
      } else {
        input = { type: "url", url: url.trim() };
      }
      const created = await props.api.jobs.create(
        { input, outputs: outputsFor(chosen), priority },
        { idempotencyKey: crypto.randomUUID() },
      );
      if (!created.ok) return setError(describeProblem(created.problem, created.status));
      props.onSubmitted(created.data);
      setFile(null);
      setUploaded(null);
    } catch (e) {
      if ((e as Error).name !== "AbortError") setError((e as Error).message || "The request failed.");
    } finally {
      setBusy(false);
      setUploaded(null);
      abort.current = null;
    }
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    const dropped = event.dataTransfer?.files?.[0];
    if (dropped) setFile(dropped);
  };

  return (
    <Card title="New job" titleId="new-job-title">
      <form class="stack" onSubmit={submit} noValidate aria-describedby={error ? "submit-error" : undefined}>
        <fieldset class="segmented">
          <legend class="label">Input</legend>
          {(
            [
              ["upload", "Upload a file"],
              ["url", "From a URL"],
            ] as const
          ).map(([value, label]) => (
            <label key={value} class={`segment${source === value ? " is-on" : ""}`}>
              <input
                type="radio"
                name="source"
                value={value}
                checked={source === value}
                onChange={() => setSource(value)}
              />
              {label}
            </label>
          ))}
        </fieldset>

        {source === "upload" ? (
          // biome-ignore lint/a11y/noStaticElementInteractions: a drop target for pointers; the file input inside is the keyboard path
          <div
            class={`dropzone${dragging ? " is-dragging" : ""}${file ? " has-file" : ""}`}
            onDragOver={(e) => {
              e.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={onDrop}
          >
            <label for="file-input" class="dropzone-label">
              {file ? (
                <>
                  <strong class="file-name">{file.name}</strong>
                  <span class="muted">
                    {formatBytes(file.size)} · {file.type || "unknown type"}
                  </span>
                </>
              ) : (
                <>
                  <strong>Drop a video or audio file here</strong>
                  <span class="muted">or choose one from this device</span>
                </>
              )}
            </label>
            <input
              id="file-input"
              type="file"
              accept="video/*,audio/*,.mkv,.mov,.mp4,.webm,.ts"
              onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
            />
          </div>
        ) : (
          <div class="field">
            <label for="url-input">Media URL</label>
            <input
              id="url-input"
              type="url"
              inputMode="url"
              placeholder="https://example.com/video.mp4"
              value={url}
              onInput={(e) => setUrl(e.currentTarget.value)}
              aria-describedby="url-hint"
            />
            <p id="url-hint" class="hint">
              Public https addresses only; private network addresses are refused.
            </p>
          </div>
        )}

        <fieldset class="presets">
          <legend class="label">Outputs</legend>
          <p class="hint">Tick any combination: all outputs share one decode of the input.</p>
          <div class="preset-grid">
            {presets.map((p) => (
              <label key={p.id} class={`preset${chosen.includes(p.id) ? " is-on" : ""}`}>
                <input
                  type="checkbox"
                  name="preset"
                  value={p.id}
                  checked={chosen.includes(p.id)}
                  onChange={(e) => toggle(p.id, e.currentTarget.checked)}
                  aria-describedby={`preset-${p.id}-desc`}
                />
                <span class="preset-text">
                  <span class="preset-title">{p.label}</span>
                  <span class="preset-desc" id={`preset-${p.id}-desc`}>
                    {p.description}
                  </span>
                </span>
              </label>
            ))}
          </div>
        </fieldset>

        <div class="form-row">
          <div class="field field-inline">
            <label for="priority">Priority</label>
            <select
              id="priority"
              value={priority}
              onChange={(e) => setPriority(e.currentTarget.value as Priority)}
            >
              <option value="high">High</option>
              <option value="default">Default</option>
              <option value="low">Low</option>
            </select>
          </div>
          <div class="form-actions">
            {busy && uploaded !== null ? (
              <button type="button" class="btn btn-ghost" onClick={() => abort.current?.abort()}>
                Cancel upload
              </button>
            ) : null}
            <button type="submit" class="btn btn-primary" disabled={busy}>
              {busy ? (uploaded !== null && uploaded < 1 ? "Uploading…" : "Starting…") : "Start job"}
            </button>
          </div>
        </div>

        {uploaded !== null ? (
          <div class="upload-progress">
            <ProgressBar
              label={`Uploading ${file?.name ?? "file"}`}
              percent={uploaded * 100}
              valueText={`${Math.round(uploaded * 100)}% uploaded`}
            />
            <span class="muted small">{Math.round(uploaded * 100)}% uploaded</span>
          </div>
        ) : null}
        {error ? (
          <div id="submit-error">
            <Alert kind="error" title="The job was not started">
              {error}
            </Alert>
          </div>
        ) : null}
      </form>
    </Card>
  );
}
