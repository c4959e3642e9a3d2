import type { ProgressTick } from "@framewire/shared/client";
import { isFinal } from "@framewire/shared/job-state";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { type Api, describeProblem, type Job } from "./api";
import { openProgress } from "./progress";

export { isFinal };

export type Live = "connecting" | "live" | "reconnecting" | "polling" | "done";

export interface JobState {
  job: Job | null;
  /** Latest tick per output name, for the current attempt. */
  ticks: Record<string, ProgressTick>;
  live: Live;
  error: string | null;
  /** Reads the job again and follows it afresh (after a cancel or a retry). */
  restart(): void;
}

/**
 * Follows one job: reads it, then listens to its progress socket until a final state arrives,
 * reconnecting with a fresh token when the socket drops, with a slow poll as a safety net.
 */
/**
 * A finished job doesn't change, but every read signs its links afresh: keep the job already shown,
 * so players and images keep their sources (a new src reloads a playing video).
 */
const settled = (next: Job) => (prev: Job | null) =>
  // finished_at is set only on a job read back after it ended, not on one patched from the socket.
  prev?.finished_at &&
  prev.id === next.id &&
  prev.status === next.status &&
  prev.outputs.length === next.outputs.length
    ? prev
    : next;

export function useJob(api: Api, jobId: string | null): JobState {
  const [job, setJob] = useState<Job | null>(null);
  const [ticks, setTicks] = useState<Record<string, ProgressTick>>({});
  const [live, setLive] = useState<Live>("connecting");
  const [error, setError] = useState<string | null>(null);
  const [round, setRound] = useState(0);
  const generation = useRef(0);
  const followed = useRef<string | null>(null);

  const fetchJob = useCallback(
    async (id: string): Promise<Job | null> => {
      const res = await api.jobs.get(id);
      if (!res.ok) {
        setError(describeProblem(res.problem, res.status));
        return null;
      }
      setError(null);
      return res.data;
    },
    [api],
  );

  useEffect(() => {
    if (!jobId) return;
    void round; // a new round re-runs this effect
    const mine = ++generation.current;
    const stale = () => generation.current !== mine;
    let socket: { close(): void } | null = null;
    let attempt = 0;
    let retries = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (followed.current !== jobId) setJob(null); // a restart keeps showing the job meanwhile
    followed.current = jobId;
    setTicks({});
    setLive("connecting");
    setError(null);

    let poll: ReturnType<typeof setInterval> | undefined;
    const finish = async () => {
      clearInterval(poll);
      // The final state is announced after the edge recorded it: the job now has its outputs.
      const latest = await fetchJob(jobId);
      if (stale()) return;
      if (latest) setJob(settled(latest));
      setLive("done");
    };

    const connect = (current: Job) => {
      socket?.close();
      socket = openProgress(current.progress_url, {
        open: () => {
          if (!stale()) setLive("live");
        },
        message: (m) => {
          if (stale() || m.job_id !== jobId) return;
          retries = 0;
          if (m.type === "job:progress") {
            if (m.attempt < attempt) return;
            const fresh = m.attempt > attempt;
            attempt = m.attempt;
            setTicks((t) => ({ ...(fresh ? {} : t), [m.output]: m }));
            setJob((j) => (j && j.status === "queued" ? { ...j, status: "running" } : j));
            if (fresh) {
              // A new attempt started: read the job once for its engine and attempt count.
              void fetchJob(jobId).then((current) => {
                if (stale() || !current || isFinal(current.status)) return;
                setJob((j) => (j && !isFinal(j.status) ? { ...current, status: "running" } : j));
              });
            }
          } else {
            setJob((j) => (j ? { ...j, status: m.status, error: m.error ?? j.error } : j));
            if (isFinal(m.status)) {
              socket?.close();
              void finish();
            }
          }
        },
        close: () => {
          if (stale()) return;
          // Dropped before the final state: read the job again (a fresh token) and reconnect.
          setLive("reconnecting");
          retries++;
          timer = setTimeout(() => void follow(), Math.min(10_000, 500 * 2 ** Math.min(retries, 5)));
        },
      });
    };

    const follow = async () => {
      const current = await fetchJob(jobId);
      if (stale()) return;
      if (!current) {
        setLive("polling");
        timer = setTimeout(() => void follow(), 3000);
        return;
      }
      setJob(settled(current));
      if (isFinal(current.status)) {
        setLive("done");
        return;
      }
      connect(current);
    };
    void follow();

    // The safety net: a socket that is open but silent must not leave the page behind.
    poll = setInterval(async () => {
      const current = await fetchJob(jobId).catch(() => null);
      if (stale() || !current) return;
      if (isFinal(current.status)) {
        socket?.close();
        setJob(settled(current));
        setLive("done");
        clearInterval(poll);
      } else {
        // Ticks may already have shown it running before the node's report reached the database.
        setJob((j) =>
          j?.status === "running" && current.status === "queued"
            ? { ...current, status: "running" }
            : current,
        );
      }
    }, 5000);

    return () => {
      generation.current++;
      socket?.close();
      clearTimeout(timer);
      clearInterval(poll);
    };
  }, [jobId, fetchJob, round]);

  const restart = useCallback(() => setRound((r) => r + 1), []);
  return { job, ticks, live, error, restart };
}
