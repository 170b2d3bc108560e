import type { Reading } from './router.js';

const pad = (n: number) => String(n).padStart(2, '0');

/** `[12:01:07] Boston 3.5 °C  #<id>` — one line per reading, local time. */
export function formatReading(reading: Reading, id: string): string {
  const at = reading.at;
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
  return `[${time}] ${reading.city} ${reading.celsius} °C  #${id}`;
}
