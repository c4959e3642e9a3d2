/**
 * A determinate or indeterminate progress bar with the ARIA progressbar pattern: screen readers
 * read the label and aria-valuetext; `percent` null means the duration is unknown.
 */
export function ProgressBar(props: {
  label: string;
  percent: number | null;
  valueText?: string;
  tone?: "active" | "done" | "failed" | "idle";
  id?: string;
}) {
  const { percent } = props;
  const known = percent !== null;
  const clamped = known ? Math.max(0, Math.min(100, percent)) : 0;
  return (
    <div
      class={`progress progress-${props.tone ?? "active"}${known ? "" : " progress-indeterminate"}`}
      role="progressbar"
      id={props.id}
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={known ? Math.round(clamped) : undefined}
      aria-valuetext={props.valueText ?? (known ? `${Math.round(clamped)}%` : "working, length unknown")}
    >
      <div class="progress-fill" style={known ? { width: `${clamped}%` } : undefined} />
    </div>
  );
}
