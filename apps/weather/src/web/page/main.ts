/**
 * The weather page: report a reading, watch readings arrive live, see the
 * latest per city and the state of the connection. A tRPC client typed by the
 * station's own router, over the browser's native EventSource.
 */
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
} from '@trpc/client';
import superjson from 'superjson';
import type { Reading, WeatherRouter } from '../../router.js';
import { DiagnosingEventSource } from './diagnosing-event-source.js';

type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'resynced' | 'locked';

const url = `${location.origin}/rpc`;
const client = createTRPCClient<WeatherRouter>({
  links: [
    splitLink({
      condition: (op) => op.type === 'subscription',
      true: httpSubscriptionLink({ url, transformer: superjson, EventSource: DiagnosingEventSource }),
      // Same-origin fetch sends the session cookie; no header carries the token.
      false: httpBatchLink({ url, transformer: superjson }),
    }),
  ],
});

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const connection = $('connection');
const reportForm = $<HTMLFormElement>('report-form');
const tokenForm = $<HTMLFormElement>('token-form');
const readingsList = $<HTMLOListElement>('readings');
const latestBody = $<HTMLTableElement>('latest').tBodies[0]!;
const MAX_SHOWN = 200;

const LABELS: Record<ConnectionState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  resynced: 'live · history gone → resynced',
  locked: 'locked: token needed',
};
let resyncedAt = 0;
function setConnection(state: ConnectionState, detail?: string) {
  // After a resync the badge says so while the stream is live again.
  const shown = state === 'live' && resyncedAt > 0 ? 'resynced' : state;
  connection.dataset.state = shown;
  connection.textContent = LABELS[shown];
  connection.title = detail ?? '';
}

const time = (at: Date) => at.toLocaleTimeString([], { hour12: false });
const codeOf = (error: unknown) =>
  error instanceof TRPCClientError
    ? ((error.data as { corbelCode?: string; code?: string } | undefined) ?? {})
    : {};

// ---- readings -------------------------------------------------------------

const seen = new Set<string>();
const latestAt = new Map<string, number>();

function showLatest(reading: Reading) {
  const prev = latestAt.get(reading.city);
  if (prev !== undefined && prev > reading.at.getTime()) return;
  latestAt.set(reading.city, reading.at.getTime());
  let row = [...latestBody.rows].find((r) => r.dataset.city === reading.city);
  if (!row) {
    row = latestBody.insertRow();
    row.dataset.city = reading.city;
    for (let i = 0; i < 3; i++) row.insertCell();
  }
  row.dataset.celsius = String(reading.celsius);
  row.cells[0]!.textContent = reading.city;
  row.cells[1]!.textContent = String(reading.celsius);
  row.cells[2]!.textContent = time(reading.at);
}

function showReading(id: string, reading: Reading) {
  if (seen.has(id)) return;
  seen.add(id);
  const li = document.createElement('li');
  li.dataset.id = id;
  li.dataset.city = reading.city;
  li.dataset.celsius = String(reading.celsius);
  li.textContent = `${time(reading.at)}  ${reading.city}  ${reading.celsius} °C`;
  const idSpan = document.createElement('span');
  idSpan.className = 'id';
  idSpan.textContent = `#${id}`;
  li.append(idSpan);
  readingsList.prepend(li);
  while (readingsList.children.length > MAX_SHOWN) readingsList.lastElementChild!.remove();
  showLatest(reading);
}

// ---- the live stream ------------------------------------------------------

let lastEventId: string | undefined;
let attempts = 0;
let current: { unsubscribe(): void } | undefined;
let retryTimer: ReturnType<typeof setTimeout> | undefined;

function subscribe() {
  current?.unsubscribe();
  clearTimeout(retryTimer);
  current = client.weather.readings.subscribe(
    { lastEventId },
    {
      onConnectionStateChange(state) {
        if (state.state === 'pending') {
          attempts = 0;
          setConnection('live');
        } else if (state.state === 'connecting') {
          setConnection(lastEventId || state.error ? 'reconnecting' : 'connecting', state.error?.message);
        }
      },
      onData({ id, data }) {
        lastEventId = id;
        showReading(id, data);
      },
      onError(error) {
        current = undefined;
        const { corbelCode, code } = codeOf(error);
        if (corbelCode === 'HISTORY_GONE') void resync();
        // The stream outlived the cookie it was opened with; the refreshed cookie goes with the reconnect.
        else if (corbelCode === 'TOKEN_EXPIRED') retryLater('session renewed');
        else if (code === 'UNAUTHORIZED') lock('the station asks for its token again');
        else retryLater(error.message);
      },
    },
  );
}

function retryLater(reason: string) {
  attempts++;
  const delay = Math.min(250 * 2 ** attempts, 5000) * (0.5 + Math.random() / 2);
  setConnection('reconnecting', reason);
  retryTimer = setTimeout(subscribe, delay);
}

/**
 * The station no longer has the readings after our last id (a memory log
 * restarted, or retention trimmed them): say so, reload the latest reading of
 * every city on screen, and follow the stream from now on.
 */
async function resync() {
  resyncedAt = Date.now();
  setConnection('reconnecting', 'history gone: resyncing');
  lastEventId = undefined;
  const cities = [...latestAt.keys()];
  try {
    const latest = await Promise.all(cities.map((city) => client.weather.latest.query({ city })));
    for (const reading of latest) if (reading) showLatest(reading);
  } catch (error) {
    setConnection('reconnecting', (error as Error).message);
  }
  subscribe();
}

// ---- the report form --------------------------------------------------------

const status = $('report-status');
reportForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const city = $<HTMLInputElement>('city');
  const celsius = $<HTMLInputElement>('celsius');
  for (const input of [city, celsius]) {
    input.removeAttribute('aria-invalid');
    $(`${input.id}-error`).textContent = '';
  }
  status.textContent = 'sending…';
  try {
    const { id } = await client.weather.report.mutate({
      city: city.value.trim(),
      celsius: celsius.value === '' ? Number.NaN : celsius.valueAsNumber,
    });
    status.textContent = `reported #${id}`;
    celsius.value = '';
  } catch (error) {
    status.textContent = '';
    const data = (error instanceof TRPCClientError ? error.data : undefined) as
      | { code?: string; issues?: { path: (string | number)[]; message: string }[] }
      | undefined;
    if (data?.code === 'UNAUTHORIZED') return lock('the session expired');
    const issues = data?.issues ?? [];
    for (const issue of issues) {
      const field = issue.path[0] === 'city' ? city : issue.path[0] === 'celsius' ? celsius : undefined;
      if (!field) continue;
      field.setAttribute('aria-invalid', 'true');
      $(`${field.id}-error`).textContent = issue.message;
    }
    if (issues.length === 0) status.textContent = `failed: ${(error as Error).message}`;
  }
});

// ---- token → session cookie ---------------------------------------------------

let refreshTimer: ReturnType<typeof setInterval> | undefined;

function lock(reason: string) {
  current?.unsubscribe();
  current = undefined;
  clearTimeout(retryTimer);
  clearInterval(refreshTimer);
  setConnection('locked', reason);
  tokenForm.hidden = false;
  reportForm.hidden = true;
  $<HTMLInputElement>('token').focus();
}

function unlocked(ttlSeconds: number | null) {
  tokenForm.hidden = true;
  reportForm.hidden = false;
  clearInterval(refreshTimer);
  if (ttlSeconds) {
    // Renew well before expiry; a tab that slept past it is asked again.
    refreshTimer = setInterval(
      async () => {
        const res = await fetch('/session?refresh=1', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        }).catch(() => undefined);
        if (res?.status === 401) lock('the session expired');
      },
      (ttlSeconds * 1000) / 3,
    );
  }
  subscribe();
}

tokenForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>('token');
  const error = $('token-error');
  error.textContent = '';
  const res = await fetch('/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: input.value }),
  }).catch((e: Error) => ({ ok: false, status: 0, json: async () => ({ error: { message: e.message } }) }));
  input.value = '';
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
    error.textContent = body?.error?.message ?? `refused (${res.status})`;
    return;
  }
  const info = (await (await fetch('/session')).json()) as { ttlSeconds: number | null };
  unlocked(info.ttlSeconds);
});

async function start() {
  try {
    const res = await fetch('/session', { cache: 'no-store' });
    const info = (await res.json()) as { authenticated: boolean; ttlSeconds: number | null };
    if (!info.authenticated) return lock('enter the station token');
    unlocked(info.ttlSeconds);
  } catch (error) {
    retryLaterStart((error as Error).message);
  }
}
function retryLaterStart(reason: string) {
  setConnection('reconnecting', reason);
  setTimeout(start, 2000);
}
void start();
