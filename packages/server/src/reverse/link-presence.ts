import type { SessionInfo, SessionRegistry } from '@corbel/core';

export interface LinkPresence {
  /** Calls links open on this instance for `session`. */
  local(session: string): number;
  /** Calls links open on this instance, in all. */
  total(): number;
  /** Sessions with a link open here. */
  sessions(): IterableIterator<string>;
  opened(session: string): void;
  closed(session: string): void;
  /** Up here, dropped here less than the grace period ago, or so on another instance. */
  isConnected(info: SessionInfo): boolean;
  /** Up (or dropped less than the grace period ago) on another instance. */
  upElsewhere(info: SessionInfo): boolean;
  /** When the link last dropped on another instance, if it had one there. */
  droppedElsewhereAt(info: SessionInfo): number | undefined;
  /** Re-marks the links open here (keeping their sessions alive) and forgets old drops. */
  refresh(now: number): Promise<void>;
}

const LINK_KEY = 'corbel.reverse.link.';

/**
 * Where each client's calls link is open. This instance counts its own; every
 * instance writes its count and the time into the session (`corbel.reverse.link.<instance>`),
 * so with a shared registry (Redis) the others know a client is connected
 * elsewhere. A link that has not been re-marked for three heartbeats died with
 * its instance; one that dropped less than `graceMs` ago still counts, since
 * its client is probably reconnecting.
 *
 * @example
 * const presence = createLinkPresence({ registry, instance, graceMs: 5000, heartbeatMs: 10_000 });
 * presence.opened(sessionId); presence.isConnected(await registry.get(sessionId));
 */
export function createLinkPresence(opts: {
  registry: SessionRegistry;
  instance: string;
  graceMs: number;
  heartbeatMs: number;
}): LinkPresence {
  const { registry, graceMs, heartbeatMs } = opts;
  const linkKey = `${LINK_KEY}${opts.instance}`;
  const links = new Map<string, number>();
  const droppedAt = new Map<string, number>();
  const others = (info: SessionInfo) =>
    Object.entries(info.data)
      .filter(([k]) => k.startsWith(LINK_KEY) && k !== linkKey)
      .map(([, v]) => v as { n?: unknown; at?: unknown } | null);
  const mark = (session: string, n: number, now: number) =>
    registry.touch(session, { [linkKey]: { n, at: now } }).catch(() => null);
  const set = (session: string, n: number) => {
    const now = Date.now();
    if (n > 0) {
      links.set(session, n);
      droppedAt.delete(session);
    } else {
      links.delete(session);
      droppedAt.set(session, now);
    }
    void mark(session, n, now);
  };
  const upElsewhere = (info: SessionInfo) => {
    const now = Date.now();
    return others(info).some((link) => {
      const age = now - Number(link?.at);
      return (Number(link?.n) > 0 && age < 3 * heartbeatMs) || age < graceMs;
    });
  };
  return {
    local: (session) => links.get(session) ?? 0,
    total() {
      let n = 0;
      for (const count of links.values()) n += count;
      return n;
    },
    sessions: () => links.keys(),
    opened: (session) => set(session, (links.get(session) ?? 0) + 1),
    closed: (session) => set(session, Math.max(0, (links.get(session) ?? 0) - 1)),
    isConnected: (info) =>
      links.has(info.id) || Date.now() - (droppedAt.get(info.id) ?? 0) < graceMs || upElsewhere(info),
    upElsewhere,
    droppedElsewhereAt(info) {
      let latest: number | undefined;
      for (const link of others(info)) {
        const at = Number(link?.at);
        if (Number.isFinite(at)) latest = Math.max(latest ?? at, at);
      }
      return latest;
    },
    async refresh(now) {
      for (const [session, at] of droppedAt) if (now - at >= graceMs) droppedAt.delete(session);
      for (const [session, n] of links) await mark(session, n, now);
    },
  };
}
