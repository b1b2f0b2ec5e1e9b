import type { Command } from 'commander';
import { Api, PRINCIPAL_HEADER } from './client';
import { Output } from './output';
import { type GlobalFlags, resolveSettings } from './settings';

/** What every command's action gets: its flags (with the global ones), the output, the API. */
export interface Context<F = Record<string, unknown>> {
  flags: GlobalFlags & F;
  out: Output;
  api(): Promise<Api>;
}

/** Wraps a command's action: commander passes (...arguments, options, command). */
export function action<F>(run: (context: Context<F>, ...args: string[]) => Promise<void>) {
  return async (...params: unknown[]) => {
    const command = params.at(-1) as Command;
    const args = params.slice(0, -2) as string[];
    const flags = command.optsWithGlobals() as GlobalFlags & F;
    const out = new Output({ json: flags.json === true, color: flags.color });
    let api: Promise<Api> | undefined;
    const context: Context<F> = {
      flags,
      out,
      api: () =>
        (api ??= resolveSettings(flags).then((settings) => {
          if (settings.localPrincipal) {
            out.note(
              `local mode: calling as ${settings.localPersona ?? settings.localPrincipal} via the ${PRINCIPAL_HEADER} header (not signed; only local mode accepts it)`,
            );
          }
          return new Api(settings, flags.debug ? (line) => process.stderr.write(`lockbox debug: ${line}\n`) : undefined);
        })),
    };
    await run(context, ...args);
  };
}

/** Collects a repeatable option into an array. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
