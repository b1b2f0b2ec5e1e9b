import { parseDuration } from '../lambdas/core/domain/duration';
import { usage } from './errors';

/**
 * Durations on the command line: the API's ISO-8601 form (`PT2H`, `P1D`), checked before anything
 * is sent, and for the CLI's own waits also the short form `90s`, `5m`, `2h`.
 */
export function isoDuration(text: string, flag: string): string {
  const value = text.trim().toUpperCase();
  if (parseDuration(value) === undefined || parseDuration(value) === 0) {
    throw usage(`${flag} must be an ISO-8601 duration such as PT30M, PT2H or P1D (got "${text}")`);
  }
  return value;
}

const SHORT = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Milliseconds of `90s` / `5m` / `2h` / `PT5M`. */
export function waitMs(text: string, flag: string): number {
  const short = SHORT.exec(text.trim());
  if (short) return Number(short[1]) * UNIT_MS[short[2] as keyof typeof UNIT_MS];
  const iso = parseDuration(text.trim().toUpperCase());
  if (iso === undefined || iso === 0) throw usage(`${flag} must be a duration such as 30s, 5m, 2h or PT10M (got "${text}")`);
  return iso;
}

/** An ISO-8601 UTC time for `--from`/`--to`/`--since`: a date (`2026-12-01`) or a full time; sent as `…Z`. */
export function isoTime(text: string, flag: string): string {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(ms))
    throw usage(`${flag} must be a date or an ISO-8601 time such as 2026-12-01 or 2026-12-01T09:30:00Z (got "${text}")`);
  return new Date(ms).toISOString();
}

/** "in 4 min", "12 s ago": for people, next to the exact time. */
export function relative(iso: string | undefined, nowMs = Date.now()): string {
  if (!iso) return '';
  const delta = Date.parse(iso) - nowMs;
  const abs = Math.abs(delta);
  const text =
    abs < 60_000
      ? `${Math.round(abs / 1000)} s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : abs < 172_800_000
          ? `${(abs / 3_600_000).toFixed(1)} h`
          : `${Math.round(abs / 86_400_000)} d`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}
