/**
 * The in-child half of the bench's process protocol: the parent sends
 * `{ id, cmd, args }`, the child answers `{ id, ok, result | error }`, and may
 * send `{ event, ... }` on its own (progress). A child exits when its parent
 * goes away, so no bench process outlives the run.
 */
export type Handler = (args: any) => unknown | Promise<unknown>;

export function serveIpc(handlers: Record<string, Handler>): void {
  if (!process.send)
    throw new Error('this bench process must be started by the bench (it needs an IPC channel)');
  process.on('message', async (message: any) => {
    const { id, cmd, args } = message ?? {};
    const handler = handlers[cmd];
    try {
      if (!handler) throw new Error(`unknown command ${cmd}`);
      const result = await handler(args ?? {});
      process.send?.({ id, ok: true, result });
    } catch (error) {
      process.send?.({ id, ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/** Tells the parent something happened (ready, progress). */
export function emit(event: string, data: Record<string, unknown> = {}): void {
  process.send?.({ event, ...data });
}

/** CPU time used by this process so far (ms) and its resident memory (bytes). */
export function processStats(): {
  cpuMs: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
} {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    external: mem.external,
  };
}

/** A full GC when the process runs with --expose-gc (the bench starts every child so). */
export async function collect(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return;
  gc();
  await new Promise((r) => setTimeout(r, 50));
  gc();
}

/** Reads `--name value` pairs from argv. */
export function argsOf(argv: string[] = process.argv.slice(2)): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    if (key?.startsWith('--')) out[key.slice(2)] = argv[i + 1] ?? '';
  }
  return out;
}
