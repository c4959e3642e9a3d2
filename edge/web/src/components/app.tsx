import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { createApi } from "../api";
import { loadKey, saveKey } from "../session";
import { DeadLettersPanel, FleetPanel } from "./admin";
import { CompositionForm } from "./composition-form";
import { Header } from "./header";
import { JobPanel } from "./job-panel";
import { JobsList } from "./jobs-list";
import { checkKey, type Identity, KeyGate } from "./key-gate";
import { SubmitForm } from "./submit-form";

export function App() {
  const [identity, setIdentity] = useState<Identity | null>(null);
  const [restoring, setRestoring] = useState(() => loadKey() !== null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    const saved = loadKey();
    if (!saved) return;
    checkKey(saved)
      .then((result) => {
        if ("error" in result) {
          saveKey(null);
          setNotice(`The saved key no longer works: ${result.error}`);
        } else setIdentity(result);
      })
      .catch(() => setNotice("The API could not be reached."))
      .finally(() => setRestoring(false));
  }, []);

  if (restoring) return <p class="boot muted">Loading…</p>;
  if (!identity)
    return (
      <KeyGate
        notice={notice}
        onReady={(id) => {
          saveKey(id.key);
          setNotice(null);
          setIdentity(id);
        }}
      />
    );
  return (
    <Console
      identity={identity}
      onSignOut={() => {
        saveKey(null);
        setIdentity(null);
      }}
    />
  );
}

function Console({ identity, onSignOut }: { identity: Identity; onSignOut(): void }) {
  const api = useMemo(() => createApi(identity.key), [identity.key]);
  const [selected, setSelected] = useState<string | null>(null);
  // Bumped when a job is created or changed, so the list refreshes at once.
  const [version, setVersion] = useState(0);
  const changed = useCallback(() => setVersion((v) => v + 1), []);

  return (
    <>
      <Header apiKey={identity.key} admin={identity.admin} onSignOut={onSignOut} />
      <main id="main" class="layout">
        <h1 class="sr-only">Framewire console</h1>
        <div class="col-main">
          {selected ? (
            <JobPanel api={api} jobId={selected} onChanged={changed} onClose={() => setSelected(null)} />
          ) : null}
          <SubmitForm
            api={api}
            onSubmitted={(job) => {
              setSelected(job.id);
              changed();
            }}
          />
          <CompositionForm
            api={api}
            onSubmitted={(job) => {
              setSelected(job.id);
              changed();
            }}
          />
        </div>
        <div class="col-side">
          <JobsList api={api} selected={selected} onSelect={setSelected} version={version} />
        </div>
        {identity.admin ? (
          <div class="col-full admin-grid">
            <FleetPanel api={api} />
            <DeadLettersPanel api={api} onChanged={changed} />
          </div>
        ) : null}
      </main>
    </>
  );
}
