import { en } from 'zod/locales';
import * as z from 'zod/mini';

/**
 * The one zod every Lambda imports: `zod/mini`, whose functions esbuild tree-shakes to the ones a
 * handler uses (classic `zod` brings every method of every schema: ~90 KiB in each bundle, see
 * docs/adr/0011-bundling.md). Mini has no messages until a locale is set: English, as classic zod
 * writes them, so the API's 400s read the same.
 */
z.config(en());

export * from 'zod/mini';
/** What a failed `parse` throws (imported by name: `z.core.…` would pull in all of zod's core). */
export { $ZodError as ZodError } from 'zod/v4/core';
