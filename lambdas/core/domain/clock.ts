/** The only source of "now" in the domain; tests inject a fixed or stepping clock. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** ISO-8601 UTC with milliseconds and `Z` — the only time format Lockbox writes. */
export const iso = (date: Date | number): string => new Date(date).toISOString();
