import { ValidationError } from './errors';

/**
 * ISO-8601 durations limited to days, hours, minutes and seconds (`P1D`, `PT2H`, `PT90M`, `PT1H30M`).
 * Years, months and weeks are refused: their length depends on the calendar.
 */
const PATTERN = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

export function parseDuration(text: string): number | undefined {
  const match = PATTERN.exec(text);
  if (!match || text === 'P' || text.endsWith('T')) return undefined;
  const [days = 0, hours = 0, minutes = 0, seconds = 0] = match.slice(1).map((part) => Number(part ?? 0));
  const ms = (((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000;
  return Number.isSafeInteger(ms) ? ms : undefined;
}

export const isDuration = (text: string): boolean => parseDuration(text) !== undefined;

/** Milliseconds of a duration, or a ValidationError naming the field. */
export function durationMs(text: string, field: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new ValidationError(`${field} must be an ISO-8601 duration such as PT2H`, { field, value: text });
  }
  return ms;
}

/** Checks `floor <= value <= cap`, zero and negative included, with a message a caller can act on. */
export function checkDurationWithin(value: string, field: string, floor: string, cap: string): number {
  const ms = durationMs(value, field);
  if (ms <= 0 || ms < durationMs(floor, 'floor')) {
    throw new ValidationError(`${field} must be at least ${floor}`, { field, value, min: floor });
  }
  if (ms > durationMs(cap, 'cap')) {
    throw new ValidationError(`${field} must be at most ${cap}`, { field, value, max: cap });
  }
  return ms;
}
