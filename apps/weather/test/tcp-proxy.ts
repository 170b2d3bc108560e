import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`: point a client here instead of at the target. */
  url: string;
  /** Destroys every open connection (both sides): a cut network, from the client's view. */
  cut(): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy to `target` (host:port), so a test can cut a client's connections. */
export async function startTcpProxy(target: URL): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(Number(target.port), target.hostname);
    for (const s of [inbound, outbound]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {});
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const cut = () => {
    for (const s of open) s.destroy();
  };
  const close = async () => {
    cut();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url: `http://127.0.0.1:${port}`, cut, close, [Symbol.asyncDispose]: close };
}
