import { useState } from "preact/hooks";
import { createApi, describeProblem } from "../api";
import { Alert, Logo } from "./ui";

export interface Identity {
  key: string;
  admin: boolean;
}

/** Checks a key against the API (GET /v1/me): it must read jobs; the admin scope shows the fleet too. */
export async function checkKey(key: string): Promise<Identity | { error: string }> {
  const me = await createApi(key).me();
  if (!me.ok) {
    return {
      error:
        me.status === 401
          ? "This key was not accepted: it is unknown, revoked or expired."
          : describeProblem(me.problem, me.status),
    };
  }
  const { scopes } = me.data.key;
  const admin = scopes.includes("admin");
  if (!admin && !scopes.includes("jobs:read")) {
    return { error: "This key cannot read jobs (it needs the jobs:read scope)." };
  }
  return { key, admin };
}

export function KeyGate(props: { onReady(identity: Identity): void; notice?: string | null }) {
  const [key, setKey] = useState("");
  const [show, setShow] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError("Paste an API key first.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const result = await checkKey(trimmed);
      if ("error" in result) setError(result.error);
      else props.onReady(result);
    } catch {
      setError("The API could not be reached. Is the edge running?");
    } finally {
      setBusy(false);
    }
  };

  const keyInput = {
    id: "api-key",
    name: "api-key",
    autoComplete: "off",
    spellcheck: false,
    placeholder: "fw_…",
    value: key,
    onInput: (e: Event) => setKey((e.currentTarget as HTMLInputElement).value),
    "aria-describedby": "api-key-hint",
    "aria-invalid": error ? true : undefined,
  };

  return (
    <main class="gate" id="main">
      <div class="gate-card">
        <div class="gate-brand">
          <Logo />
          <span>Framewire</span>
        </div>
        <h1 class="gate-title">Sign in with an API key</h1>
        <p class="muted">
          Transcode, package for streaming, cut thumbnails and analyse media, then watch every output's
          progress live. The key stays in this tab only.
        </p>
        {props.notice ? <Alert kind="info">{props.notice}</Alert> : null}
        <form onSubmit={submit} class="stack" noValidate>
          <div class="field">
            <label for="api-key">API key</label>
            <div class="input-with-button">
              {show ? <input type="text" {...keyInput} /> : <input type="password" {...keyInput} />}
              <button type="button" class="btn btn-ghost" onClick={() => setShow(!show)} aria-pressed={show}>
                {show ? "Hide" : "Show"}
              </button>
            </div>
            <p id="api-key-hint" class="hint">
              <code>./dev start</code> prints a local key; operators issue keys with the admin API.
            </p>
          </div>
          {error ? <Alert kind="error">{error}</Alert> : null}
          <button type="submit" class="btn btn-primary btn-block" disabled={busy}>
            {busy ? "Checking…" : "Continue"}
          </button>
        </form>
        <p class="gate-foot muted">
          Building an integration? Read the <a href="/docs">API reference</a>.
        </p>
      </div>
    </main>
  );
}
