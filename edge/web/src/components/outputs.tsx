import type { AnalysisFacts, ProbeFacts } from "@framewire/shared/client";
import type { RefObject } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { LiveOutput, OutputFile } from "../api";
import { formatBitrate, formatBytes, formatDuration } from "../format";
import { parseStoryboard, type Storyboard, type StoryboardCue } from "../vtt";
import { DownloadIcon } from "./ui";

export function OutputResult({ output }: { output: LiveOutput }) {
  switch (output.type) {
    case "video":
    case "composition":
    case "highlight_reel":
      return (
        <>
          {/* biome-ignore lint/a11y/useMediaCaption: outputs are transcodes of user media; there is no caption track to offer */}
          <video
            class="player"
            controls
            preload="metadata"
            playsInline
            src={output.url}
            aria-label={`${output.name} video`}
          />
          <MediaFacts output={output} />
        </>
      );
    case "hls":
      return (
        <>
          <HlsPlayer output={output} />
          <Renditions output={output} />
        </>
      );
    case "dash":
      return (
        <>
          <DashPlayer output={output} />
          <Renditions output={output} />
          {output.segments_from ? (
            <p class="facts-line">
              Segments shared with <code>{output.segments_from}</code>: encoded and stored once, listed among
              its files.
            </p>
          ) : null}
        </>
      );
    case "audio":
      return (
        <>
          {/* biome-ignore lint/a11y/useMediaCaption: outputs are transcodes of user media; there is no caption track to offer */}
          <audio
            class="audio-player"
            controls
            preload="metadata"
            src={output.url}
            aria-label={`${output.name} audio`}
          />
          <MediaFacts output={output} />
          {output.loudness ? (
            <p class="facts-line">
              Loudness: {output.loudness.input_lufs.toFixed(1)} LUFS → {output.loudness.target_lufs} LUFS (
              {output.loudness.gain_db >= 0 ? "+" : ""}
              {output.loudness.gain_db.toFixed(1)} dB)
            </p>
          ) : null}
        </>
      );
    case "thumbnails":
      return <Thumbnails output={output} />;
    case "animation":
      return <AnimationPreview output={output} />;
    case "waveform":
      return <WaveformImage output={output} />;
    case "analysis":
      return output.analysis ? <Measurement facts={output.analysis} /> : <Analysis probe={output.probe} />;
    case "subtitles": {
      const s = output.subtitles;
      return (
        <p class="facts-line">
          WebVTT
          {s
            ? ` · ${s.cues} ${s.cues === 1 ? "cue" : "cues"} from track ${s.source_index} (${s.source_codec}${s.language ? `, ${s.language}` : ""})`
            : ""}
          {` · ${formatBytes(output.size_bytes)}`}
        </p>
      );
    }
    default:
      return <MediaFacts output={output} />;
  }
}

/** GIF and WebP play as images; an MP4 loop as a muted, looping video (as players show previews). */
function AnimationPreview({ output }: { output: LiveOutput }) {
  const a = output.animation;
  const facts = a
    ? `${a.frames} frames at ${Math.round(a.fps * 10) / 10} fps${a.loop === false ? ", plays once" : ""}`
    : "";
  return (
    <>
      {output.container === "mp4" ? (
        <video
          class="player"
          src={output.url}
          autoplay
          muted
          loop
          playsInline
          aria-label={`${output.name} preview`}
        />
      ) : (
        <img class="animation" src={output.url} alt={`Animated preview ${output.name}`} decoding="async" />
      )}
      <MediaFacts output={output} />
      {facts ? <p class="facts-line">{facts}</p> : null}
    </>
  );
}

/** The waveform picture, with its peaks document among the downloads. */
function WaveformImage({ output }: { output: LiveOutput }) {
  const w = output.waveform;
  const image = output.files?.find((f) => f.relative_path === w?.image);
  if (!w || !image) return <MediaFacts output={output} />;
  return (
    <>
      <img
        class="waveform"
        src={image.url}
        width={w.width}
        height={w.height}
        alt={`Waveform of the audio, ${formatDuration(w.duration_sec, true)}`}
        decoding="async"
      />
      <p class="facts-line">
        {w.width}×{w.height} · {w.points} peak pairs ({Math.round(w.points_per_sec * 10) / 10} a second) ·{" "}
        {formatDuration(w.duration_sec, true)}
      </p>
    </>
  );
}

function MediaFacts({ output }: { output: LiveOutput }) {
  const facts = [
    output.video ? `${output.video.width}×${output.video.height}` : null,
    output.video?.fps ? `${Math.round(output.video.fps * 100) / 100} fps` : null,
    output.video ? output.video.codec : null,
    output.audio ? `${output.audio.codec} ${output.audio.sample_rate / 1000} kHz` : null,
    output.duration_sec !== null ? formatDuration(output.duration_sec, true) : null,
    formatBytes(output.size_bytes),
    output.encoder
      ? `encoder ${output.encoder}${output.accel && output.accel !== "cpu" ? ` (${output.accel})` : ""}`
      : null,
    output.subtitle_tracks?.length
      ? `subtitles ${output.subtitle_tracks.map((t) => t.language ?? "untagged").join(", ")}`
      : null,
  ].filter(Boolean);
  return (
    <>
      <p class="facts-line">{facts.join(" · ")}</p>
      {output.fallback_reason ? (
        <details class="hint">
          <summary>Encoded on the CPU: why not on hardware?</summary>
          {output.fallback_reason}
        </details>
      ) : null}
    </>
  );
}

/** Maps each file's path (as a player resolves it) to its signed link. */
function signedLinks(files: OutputFile[] | undefined): Map<string, string> {
  const links = new Map<string, string>();
  for (const f of files ?? []) links.set(new URL(f.url, location.href).pathname, f.url);
  return links;
}

/**
 * HLS through hls.js (Chromium and Firefox have no native HLS), its full build: a ladder shared
 * with a DASH output carries its audio as alternate renditions (EXT-X-MEDIA), which the light
 * build does not play. Every file of the output has its own signed link, so each playlist or
 * segment request is re-opened on the link for that path.
 */
function HlsPlayer({ output }: { output: LiveOutput }) {
  const video = useRef<HTMLVideoElement>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    const element = video.current;
    if (!element) return;
    let destroyed = false;
    let hls: { destroy(): void } | null = null;
    const links = signedLinks(output.files);
    import("hls.js")
      .then(({ default: Hls }) => {
        if (destroyed) return;
        if (!Hls.isSupported()) {
          setProblem("This browser cannot play HLS here; download the playlist instead.");
          return;
        }
        const player = new Hls({
          xhrSetup(xhr, url) {
            const signed = links.get(new URL(url, location.href).pathname);
            xhr.open("GET", signed ?? url, true);
          },
        });
        player.on(Hls.Events.ERROR, (_event, data) => {
          if (data.fatal) setProblem(`Playback failed: ${data.details}`);
        });
        player.loadSource(output.url);
        player.attachMedia(element);
        hls = player;
      })
      .catch(() => setProblem("The HLS player could not be loaded."));
    return () => {
      destroyed = true;
      hls?.destroy();
    };
  }, [output.url, output.files]);
  return <StreamVideo video={video} name={output.name} problem={problem} />;
}

/**
 * DASH through dash.js (no browser plays DASH natively). The edge serves the manifest with every
 * segment URL already on its own signed link, so the player needs nothing but the manifest's URL.
 */
function DashPlayer({ output }: { output: LiveOutput }) {
  const video = useRef<HTMLVideoElement>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    const element = video.current;
    if (!element || !output.url) return;
    const url = output.url;
    let destroyed = false;
    let player: { destroy(): void } | null = null;
    import("dashjs")
      .then(({ MediaPlayer, supportsMediaSource }) => {
        if (destroyed) return;
        if (!supportsMediaSource()) {
          setProblem("This browser cannot play DASH here; download the manifest instead.");
          return;
        }
        const dash = MediaPlayer().create();
        dash.on("error", (event) => {
          const error = (event as { error?: { code?: number; message?: string } }).error;
          setProblem(`Playback failed: ${error?.message ?? `error ${error?.code ?? "unknown"}`}`);
        });
        dash.initialize(element, url, false);
        player = dash;
      })
      .catch(() => setProblem("The DASH player could not be loaded."));
    return () => {
      destroyed = true;
      player?.destroy();
    };
  }, [output.url]);
  return <StreamVideo video={video} name={output.name} problem={problem} />;
}

/** The element an adaptive-stream player attaches to, and what went wrong with it if anything did. */
function StreamVideo({
  video,
  name,
  problem,
}: {
  video: RefObject<HTMLVideoElement | null>;
  name: string;
  problem: string | null;
}) {
  return (
    <>
      {/* biome-ignore lint/a11y/useMediaCaption: outputs are transcodes of user media; there is no caption track to offer */}
      <video
        ref={video}
        class="player"
        controls
        preload="metadata"
        playsInline
        aria-label={`${name} stream`}
      />
      {problem ? <p class="hint">{problem}</p> : null}
    </>
  );
}

function Renditions({ output }: { output: LiveOutput }) {
  if (!output.renditions?.length) return null;
  return (
    <ul class="chips" aria-label="Renditions">
      {output.renditions.map((r) => (
        <li key={r.name} class="chip">
          {r.name} · {r.width}×{r.height} · {formatBitrate(r.bandwidth)} · {r.segments}{" "}
          {r.segments === 1 ? "segment" : "segments"}
        </li>
      ))}
      {(output.subtitle_renditions ?? []).map((r) => (
        <li key={`subtitles-${r.playlist}`} class="chip">
          subtitles {r.name}
          {r.language ? ` (${r.language})` : ""} · {r.cues} {r.cues === 1 ? "cue" : "cues"}
        </li>
      ))}
    </ul>
  );
}

function Thumbnails({ output }: { output: LiveOutput }) {
  const byPath = new Map((output.files ?? []).map((f) => [f.relative_path, f]));
  const stills = (output.thumbnails ?? []).flatMap((t) => {
    const file = byPath.get(t.relative_path);
    return file ? [{ ...t, url: file.url }] : [];
  });
  const storyboard = output.files?.find((f) => f.relative_path.endsWith(".vtt"));
  return (
    <>
      <ul class="thumb-grid" aria-label="Thumbnails">
        {stills.map((t) => (
          <li key={t.relative_path}>
            <figure class="thumb">
              <img
                src={t.url}
                alt={`Frame at ${formatDuration(t.time_sec, true)}`}
                loading="lazy"
                decoding="async"
              />
              <figcaption>{formatDuration(t.time_sec, true)}</figcaption>
            </figure>
          </li>
        ))}
      </ul>
      {storyboard ? <StoryboardView files={output.files ?? []} storyboard={storyboard} /> : null}
    </>
  );
}

/** The sprite sheet with its WebVTT storyboard: scrub through time, see the tile a player would show. */
function StoryboardView({ files, storyboard }: { files: OutputFile[]; storyboard: OutputFile }) {
  const [board, setBoard] = useState<Storyboard | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [at, setAt] = useState(0);
  useEffect(() => {
    let live = true;
    fetch(storyboard.url)
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then((text) => live && setBoard(parseStoryboard(text)))
      .catch((e: Error) => live && setProblem(`The storyboard could not be loaded (${e.message}).`));
    return () => {
      live = false;
    };
  }, [storyboard.url]);
  const cues = board?.cues;
  const sprite = files.find((f) => f.relative_path === board?.image);
  const end = cues?.at(-1)?.end ?? 0;
  const cue = useMemo(() => {
    if (!cues?.length) return undefined;
    return (
      cues.find((c) => at >= c.start && at < c.end) ?? (at < (cues[0]?.start ?? 0) ? cues[0] : cues.at(-1))
    );
  }, [cues, at]);
  if (problem) return <p class="hint">{problem}</p>;
  if (!cues?.length || !cue || !sprite) return null;
  return (
    <div class="storyboard">
      <div class="storyboard-head">
        <h4 class="subhead">Storyboard</h4>
        <span class="muted small">
          {cues.length} tiles · {cue.w}×{cue.h} each
        </span>
      </div>
      <div class="storyboard-body">
        <div
          class="storyboard-tile"
          role="img"
          aria-label={`Storyboard tile for ${formatDuration(at, true)}`}
          style={tileStyle(cues, cue, sprite.url)}
        />
        <div class="storyboard-controls">
          <label for={`scrub-${sprite.relative_path}`} class="small">
            Scrub: <strong>{formatDuration(at, true)}</strong> / {formatDuration(end, true)}
          </label>
          <input
            id={`scrub-${sprite.relative_path}`}
            type="range"
            min={0}
            max={end}
            step={0.1}
            value={at}
            onInput={(e) => setAt(Number(e.currentTarget.value))}
          />
          <img class="sprite-sheet" src={sprite.url} alt="Sprite sheet: every thumbnail tiled together" />
        </div>
      </div>
    </div>
  );
}

/**
 * One tile of the sprite sheet, drawn at any width: the sheet is scaled by the same factor as the
 * tile (sizes and offsets in percent), so the preview shrinks to fit a phone.
 */
function tileStyle(cues: StoryboardCue[], cue: StoryboardCue, url: string) {
  const sheetW = Math.max(...cues.map((c) => c.x)) + cue.w;
  const sheetH = Math.max(...cues.map((c) => c.y)) + cue.h;
  const at = (offset: number, sheet: number, tile: number) =>
    sheet > tile ? (offset / (sheet - tile)) * 100 : 0;
  return {
    maxWidth: `${cue.w}px`,
    aspectRatio: `${cue.w} / ${cue.h}`,
    backgroundImage: `url("${url}")`,
    backgroundSize: `${(sheetW / cue.w) * 100}% ${(sheetH / cue.h) * 100}%`,
    backgroundPosition: `${at(cue.x, sheetW, cue.w)}% ${at(cue.y, sheetH, cue.h)}%`,
  };
}

const seconds = (t: number) => formatDuration(t, true);

/** One line per fact of an analysis output (every string rendered as text). */
function measurementLines(facts: AnalysisFacts): [string, string][] {
  const db = (v: number | null, unit: string) => (v === null ? "—" : `${v.toFixed(1)} ${unit}`);
  const spans = (list: { start_sec: number; end_sec: number }[]) =>
    list.length === 0 ? "none" : list.map((i) => `${seconds(i.start_sec)}–${seconds(i.end_sec)}`).join(", ");
  switch (facts.kind) {
    case "loudness":
      return [
        ["Integrated", db(facts.integrated_lufs, "LUFS")],
        ["Loudness range", db(facts.loudness_range_lu, "LU")],
        ["True peak", db(facts.true_peak_dbtp, "dBTP")],
      ];
    case "silence":
      return [
        ["Silences", spans(facts.silences)],
        ["Total", seconds(facts.total_silence_sec)],
      ];
    case "scenes":
      return [
        [
          "Cuts",
          facts.scenes.length === 0 ? "none" : facts.scenes.map((c) => seconds(c.time_sec)).join(", "),
        ],
      ];
    case "black":
      return [["Black", spans(facts.black)]];
    case "freeze":
      return [["Frozen", spans(facts.freeze)]];
    case "tempo":
      return [
        [
          "Tempo",
          facts.bpm === null
            ? (facts.reason ?? "none")
            : `${facts.bpm} BPM (${facts.beats_sec.length} beats)`,
        ],
      ];
    case "key":
      return [["Key", facts.key ?? facts.reason ?? "none"]];
    case "fingerprint":
      return [
        ["Chromaprint", facts.chromaprint ? `${facts.chromaprint.slice(0, 24)}…` : (facts.reason ?? "none")],
        ["Frames hashed", String(facts.frame_hashes.length)],
      ];
    case "highlights":
      return facts.segments.map((h, i) => [
        `#${i + 1} (${h.score.toFixed(2)})`,
        `${seconds(h.start_sec)}–${seconds(h.end_sec)} ${h.reasons.join(", ")}`,
      ]);
  }
}

function Measurement({ facts }: { facts: AnalysisFacts }) {
  return (
    <div class="analysis">
      <dl class="facts">
        {measurementLines(facts).map(([term, value]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

function Analysis({ probe }: { probe: ProbeFacts | undefined }) {
  if (!probe) return <p class="hint">No facts were recorded.</p>;
  return (
    <div class="analysis">
      <dl class="facts">
        {probe.media_kind ? (
          <div>
            <dt>Kind</dt>
            <dd>
              {[
                probe.media_kind.replace("_", " "),
                probe.hdr ? "HDR" : null,
                probe.interlaced ? "interlaced" : null,
                probe.variable_frame_rate ? "variable frame rate" : null,
                probe.has_alpha ? "alpha" : null,
                probe.rotation ? `rotated ${probe.rotation}°` : null,
              ]
                .filter(Boolean)
                .join(" · ")}
            </dd>
          </div>
        ) : null}
        <div>
          <dt>Container</dt>
          <dd>{probe.format_name.split(",").join(", ")}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(probe.duration_sec, true)}</dd>
        </div>
        <div>
          <dt>Bit rate</dt>
          <dd>{formatBitrate(probe.bit_rate)}</dd>
        </div>
        <div>
          <dt>Size</dt>
          <dd>{formatBytes(probe.size_bytes)}</dd>
        </div>
      </dl>
      <table class="table streams">
        <caption class="sr-only">Streams of the input</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Type</th>
            <th scope="col">Codec</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {probe.streams.map((s) => (
            <tr key={s.index}>
              <td>{s.index}</td>
              <td>{s.type}</td>
              <td>
                {s.codec}
                {s.profile ? <span class="muted"> ({s.profile})</span> : null}
              </td>
              <td>
                {[
                  s.width && s.height ? `${s.width}×${s.height}` : null,
                  s.fps ? `${Math.round(s.fps * 100) / 100} fps` : null,
                  s.pixel_format ?? null,
                  s.rotation ? `rotated ${s.rotation}°` : null,
                  s.sample_rate ? `${s.sample_rate / 1000} kHz` : null,
                  s.channels ? `${s.channels} ch` : null,
                  s.bit_rate ? formatBitrate(s.bit_rate) : null,
                ]
                  .filter(Boolean)
                  .join(" · ")}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Downloads({ output }: { output: LiveOutput }) {
  const files = output.files ?? [];
  const main = files.find((f) => f.url === output.url)?.relative_path ?? `${output.name}.${output.container}`;
  return (
    <div class="downloads">
      <a class="btn btn-secondary btn-sm" href={output.url} download={main}>
        <DownloadIcon /> Download {main}
        <span class="muted">
          {" "}
          (
          {formatBytes(
            files.length ? files.find((f) => f.url === output.url)?.size_bytes : output.size_bytes,
          )}
          )
        </span>
      </a>
      {files.length > 1 ? (
        <details class="file-list">
          <summary>
            All {files.length} files ({formatBytes(output.size_bytes)})
          </summary>
          <ul>
            {files.map((f) => (
              <li key={f.relative_path}>
                <a href={f.url} download={f.relative_path.split("/").join("_")}>
                  {f.relative_path}
                </a>{" "}
                <span class="muted small">{formatBytes(f.size_bytes)}</span>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </div>
  );
}
