import type { JobSpecInput } from "@framewire/shared/client";
import { useState } from "preact/hooks";
import { type Api, describeProblem, type Job } from "../api";
import { formatDuration } from "../format";
import { Alert, Card } from "./ui";

/** The transitions the simple form offers between consecutive clips. */
const transitions = [
  ["crossfade", "Crossfade"],
  ["fade", "Fade through black"],
  ["wipe_left", "Wipe"],
  ["slide_left", "Slide"],
  ["none", "Cut"],
] as const;
type Transition = (typeof transitions)[number][0];

const transitionSec = 0.5;
const titleSec = 4;

interface ClipFile {
  file: File;
  /** Seconds, read by the browser from the file's metadata; null while unknown or unreadable. */
  durationSec: number | null;
}

/** The file's duration as the browser reads it (a blob: URL, which the page's CSP allows for media). */
function readDuration(file: File): Promise<number | null> {
  return new Promise((resolve) => {
    const media = document.createElement("video");
    const url = URL.createObjectURL(file);
    const done = (value: number | null) => {
      URL.revokeObjectURL(url);
      media.removeAttribute("src");
      resolve(value);
    };
    media.preload = "metadata";
    media.onloadedmetadata = () => done(Number.isFinite(media.duration) ? media.duration : null);
    media.onerror = () => done(null);
    media.src = url;
  });
}

/** Each clip's place on the timeline: one after another, overlapping by a crossfade's length. */
export function timeline(durations: number[], transition: Transition) {
  const overlap = transition === "crossfade" ? transitionSec : 0;
  let at = 0;
  return durations.map((raw, i) => {
    // A little short of the browser's figure: the container's duration may run past the last frame.
    const length = Math.max(0.5, Math.floor((raw - 0.05) * 10) / 10);
    const start = i === 0 ? 0 : at - overlap;
    at = start + length;
    return { start: Math.round(start * 100) / 100, length };
  });
}

/** The job spec the form describes; inputs are the uploads' ids by name. */
export function compositionSpec(options: {
  uploads: { clips: string[]; logo: string | null; music: string | null };
  durations: number[];
  transition: Transition;
  title: string;
}): JobSpecInput {
  const { uploads, durations, transition, title } = options;
  const placed = timeline(durations, transition);
  const total = Math.max(...placed.map((p) => p.start + p.length));
  const upload = (id: string) => ({ type: "upload" as const, upload_id: id });
  const inputs: Record<string, { type: "upload"; upload_id: string }> = {};
  uploads.clips.forEach((id, i) => {
    inputs[`clip${i + 1}`] = upload(id);
  });
  if (uploads.logo) inputs.logo = upload(uploads.logo);
  if (uploads.music) inputs.music = upload(uploads.music);
  const clipTransition = (i: number) => {
    if (transition === "none") return undefined;
    if (transition === "crossfade")
      return i === 0 ? undefined : { in: "crossfade" as const, duration_sec: transitionSec };
    if (transition === "fade")
      return { in: "fade" as const, out: "fade" as const, duration_sec: transitionSec };
    return i === 0 ? undefined : { in: transition, duration_sec: transitionSec };
  };
  const tracks = [];
  if (uploads.logo)
    tracks.push({
      clips: [
        {
          asset: { type: "image" as const, input: "logo" },
          start_sec: 0,
          length_sec: total,
          position: "top-right" as const,
          scale: 0.18,
          offset: { x: -0.02, y: -0.03 },
        },
      ],
    });
  if (title.trim())
    tracks.push({
      clips: [
        {
          asset: { type: "text" as const, text: title.trim(), font_size: 56, background: "#00000080" },
          start_sec: 0,
          length_sec: Math.min(titleSec, total),
          position: "bottom" as const,
          offset: { x: 0, y: 0.06 },
          transition: { in: "fade" as const, out: "fade" as const, duration_sec: transitionSec },
        },
      ],
    });
  tracks.push({
    clips: placed.map((p, i) => {
      const t = clipTransition(i);
      return {
        asset: { type: "video" as const, input: `clip${i + 1}`, trim: { start_sec: 0, end_sec: p.length } },
        start_sec: p.start,
        ...(t ? { transition: t } : {}),
      };
    }),
  });
  return {
    inputs,
    outputs: [
      {
        name: "composition",
        type: "composition",
        canvas: { width: 1280, height: 720 },
        tracks,
        ...(uploads.music
          ? { soundtrack: { input: "music", volume: 0.8, fade_in_sec: 1, fade_out_sec: 1, duck: 12 } }
          : {}),
      },
    ],
  } as JobSpecInput;
}

/**
 * The simple composition form: two or more clips in order, a transition between them, a logo in
 * the corner, a title, a music bed under the clips' own sound. The timeline is shown before the
 * render; the result plays in the job's panel.
 */
export function CompositionForm(props: { api: Api; onSubmitted(job: Job): void }) {
  const [clips, setClips] = useState<ClipFile[]>([]);
  const [transition, setTransition] = useState<Transition>("crossfade");
  const [logo, setLogo] = useState<File | null>(null);
  const [music, setMusic] = useState<File | null>(null);
  const [title, setTitle] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const chooseClips = async (files: FileList | null) => {
    const list = [...(files ?? [])];
    setClips(list.map((file) => ({ file, durationSec: null })));
    const durations = await Promise.all(list.map(readDuration));
    setClips(list.map((file, i) => ({ file, durationSec: durations[i] ?? null })));
  };

  const known = clips.every((c) => c.durationSec !== null);
  const placed = known
    ? timeline(
        clips.map((c) => c.durationSec as number),
        transition,
      )
    : [];
  const total = placed.length > 0 ? Math.max(...placed.map((p) => p.start + p.length)) : 0;

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    if (clips.length < 2) return setError("Choose two or more clips.");
    if (!known)
      return setError("Some clips could not be read by the browser: choose video files it can play.");
    const controller = new AbortController();
    try {
      const upload = async (file: File, what: string) => {
        setBusy(`Uploading ${what}…`);
        const res = await props.api.upload(file, () => {}, controller.signal);
        if (!res.ok) throw new Error(`Upload of ${what} failed: ${describeProblem(res.problem, res.status)}`);
        return res.data.id;
      };
      const clipIds: string[] = [];
      for (const [i, c] of clips.entries()) clipIds.push(await upload(c.file, `clip ${i + 1}`));
      const logoId = logo ? await upload(logo, "the logo") : null;
      const musicId = music ? await upload(music, "the music") : null;
      setBusy("Starting…");
      const spec = compositionSpec({
        uploads: { clips: clipIds, logo: logoId, music: musicId },
        durations: clips.map((c) => c.durationSec as number),
        transition,
        title,
      });
      const created = await props.api.jobs.create(spec, { idempotencyKey: crypto.randomUUID() });
      if (!created.ok) return setError(describeProblem(created.problem, created.status));
      props.onSubmitted(created.data);
    } catch (e) {
      setError((e as Error).message || "The request failed.");
    } finally {
      setBusy(null);
    }
  };

  return (
    <Card title="New composition" titleId="new-composition-title">
      <form
        class="stack"
        onSubmit={submit}
        noValidate
        aria-describedby={error ? "composition-error" : undefined}
      >
        <div class="field">
          <label for="composition-clips">Clips (two or more, in order)</label>
          <input
            id="composition-clips"
            type="file"
            multiple
            accept="video/*,.mkv,.mov,.mp4,.webm"
            onChange={(e) => void chooseClips(e.currentTarget.files)}
          />
        </div>
        <div class="form-row">
          <div class="field field-inline">
            <label for="composition-transition">Transition</label>
            <select
              id="composition-transition"
              value={transition}
              onChange={(e) => setTransition(e.currentTarget.value as Transition)}
            >
              {transitions.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div class="field">
          <label for="composition-title">Title</label>
          <input
            id="composition-title"
            type="text"
            maxLength={200}
            placeholder="Shown over the first seconds"
            value={title}
            onInput={(e) => setTitle(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="composition-logo">Logo (image, top right)</label>
          <input
            id="composition-logo"
            type="file"
            accept="image/png,image/jpeg,image/webp"
            onChange={(e) => setLogo(e.currentTarget.files?.[0] ?? null)}
          />
        </div>
        <div class="field">
          <label for="composition-music">Music bed (lowered under the clips' sound)</label>
          <input
            id="composition-music"
            type="file"
            accept="audio/*"
            onChange={(e) => setMusic(e.currentTarget.files?.[0] ?? null)}
          />
        </div>

        {clips.length > 0 ? (
          <section aria-label="Timeline preview" class="stack">
            <p class="hint">
              {known
                ? `${clips.length} clips, ${formatDuration(total)} in all${logo ? ", logo on top" : ""}${title.trim() ? ", title over the first seconds" : ""}${music ? ", music bed" : ""}.`
                : "Reading the clips…"}
            </p>
            <ol class="composition-timeline">
              {clips.map((c, i) => (
                <li key={`${c.file.name}-${i}`}>
                  <strong>{c.file.name}</strong>{" "}
                  <span class="muted">
                    {placed[i]
                      ? `${formatDuration(placed[i].start, true)} → ${formatDuration(placed[i].start + placed[i].length, true)}`
                      : c.durationSec === null
                        ? "…"
                        : ""}
                  </span>
                </li>
              ))}
            </ol>
          </section>
        ) : null}

        <div class="form-actions">
          <button type="submit" class="btn btn-primary" disabled={busy !== null}>
            {busy ?? "Render composition"}
          </button>
        </div>
        {error ? (
          <div id="composition-error">
            <Alert kind="error" title="The composition was not started">
              {error}
            </Alert>
          </div>
        ) : null}
      </form>
    </Card>
  );
}
