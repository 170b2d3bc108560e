/**
 * The logger the server writes to: pino's method shape, so a pino logger
 * (or a child of one) fits as is. The library never prints on its own; with no
 * logger it is silent.
 */
export interface CorbelLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = () => {};

/** A logger that drops everything: the default. */
export const silentLogger: CorbelLogger = { debug: noop, info: noop, warn: noop, error: noop };
