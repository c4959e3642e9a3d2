import type { JobStatus } from "@framewire/shared/client";
import type { ComponentChildren } from "preact";

/** Every status, exhaustively (a new status in shared/ is a compile error here). */
export const statusLabels: Record<JobStatus, string> = {
  queued: "Queued",
  running: "Running",
  succeeded: "Succeeded",
  failed: "Failed",
  canceled: "Canceled",
};

export function StatusBadge({ status }: { status: JobStatus }) {
  return (
    <span class={`badge badge-${status}`}>
      <span class="badge-dot" aria-hidden="true" />
      {statusLabels[status] ?? status}
    </span>
  );
}

export function Card(props: {
  title: ComponentChildren;
  titleId?: string;
  actions?: ComponentChildren;
  children: ComponentChildren;
  class?: string;
  headingLevel?: 2 | 3;
}) {
  const Heading = props.headingLevel === 3 ? "h3" : "h2";
  return (
    <section class={`card ${props.class ?? ""}`} aria-labelledby={props.titleId}>
      <header class="card-header">
        <Heading id={props.titleId} class="card-title">
          {props.title}
        </Heading>
        {props.actions ? <div class="card-actions">{props.actions}</div> : null}
      </header>
      <div class="card-body">{props.children}</div>
    </section>
  );
}

export function Alert(props: {
  kind: "error" | "info" | "warning";
  title?: string;
  children: ComponentChildren;
}) {
  return (
    <div class={`alert alert-${props.kind}`} role={props.kind === "error" ? "alert" : "status"}>
      {props.title ? <strong class="alert-title">{props.title}</strong> : null}
      <div>{props.children}</div>
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** The product mark: a frame with a play wedge. */
export function Logo() {
  return (
    <svg class="logo" viewBox="0 0 32 32" width="28" height="28" aria-hidden="true" focusable="false">
      <rect x="2" y="5" width="28" height="22" rx="5" fill="currentColor" />
      <path d="M13 11v10l9-5z" fill="#fff" />
    </svg>
  );
}

export function DownloadIcon() {
  return (
    <svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true" focusable="false">
      <path
        d="M10 3v9m0 0-3.5-3.5M10 12l3.5-3.5M4 15h12"
        fill="none"
        stroke="currentColor"
        stroke-width="1.8"
        stroke-linecap="round"
        stroke-linejoin="round"
      />
    </svg>
  );
}
