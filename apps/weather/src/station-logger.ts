import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

/**
 * The station's logger: human-readable lines on a terminal, one JSON object
 * per line otherwise (for log collectors). Writes are synchronous so the last
 * lines before an exit are never lost. Level from CORBEL_LOG_LEVEL (default info).
 *
 * @example
 * const logger = createStationLogger();
 * logger.info({ url }, 'listening');
 */
export function createStationLogger(opts: { tty?: boolean; level?: string } = {}): Logger {
  const level = opts.level ?? process.env.CORBEL_LOG_LEVEL ?? 'info';
  const tty = opts.tty ?? process.stdout.isTTY === true;
  const base = { level, base: { service: 'weather-station' } };
  return tty
    ? pino(base, pretty({ sync: true, colorize: true, ignore: 'pid,hostname,service' }))
    : pino(base, pino.destination({ dest: 1, sync: true }));
}
