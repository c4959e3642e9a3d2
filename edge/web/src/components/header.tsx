import { keyPrefix } from "../session";
import { Logo } from "./ui";

export function Header(props: { apiKey: string; admin: boolean; onSignOut(): void }) {
  return (
    <header class="topbar">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <div class="topbar-inner">
        <a class="brand" href="/" aria-label="Framewire console, home">
          <Logo />
          <span>Framewire</span>
        </a>
        <nav class="topbar-nav" aria-label="Account">
          <a href="/docs" class="nav-link">
            API docs
          </a>
          <span class="key-chip" title="The API key in use (its public prefix)">
            <code>{keyPrefix(props.apiKey)}</code>
            {props.admin ? <span class="tag tag-admin">admin</span> : null}
          </span>
          <button type="button" class="btn btn-ghost btn-sm" onClick={props.onSignOut}>
            Sign out
          </button>
        </nav>
      </div>
    </header>
  );
}
