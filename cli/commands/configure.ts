import type { Command } from 'commander';
import { action, type Context } from '../context';
import { usage } from '../errors';
import { configFilePath, type FileSettings, parseEndpoint, readConfigFile, writeConfigFile } from '../settings';

/** `configure`: writes the endpoint (and region, profile, local persona) to the configuration file. */
export function registerConfigure(program: Command): void {
  program
    .command('configure')
    .description('save the endpoint, region, profile (or local persona) so other commands need no flags')
    .option('--show', 'print the configuration file instead of changing it')
    .option('--unset <key>', 'remove a saved value (endpoint, region, profile, localAs)')
    .addHelpText(
      'after',
      `
The global --endpoint, --region, --profile and --local-as given to configure are saved, e.g.
  lockbox configure --endpoint https://abc123.execute-api.eu-west-1.amazonaws.com/v1 --profile support
  lockbox configure --endpoint http://localhost:3000 --local-as alice      # local mode
File: $LOCKBOX_CONFIG, else $XDG_CONFIG_HOME/lockbox/config.json, else ~/.config/lockbox/config.json.
Flags and the environment (LOCKBOX_ENDPOINT, AWS_REGION, AWS_PROFILE, LOCKBOX_LOCAL_AS) win over it.`,
    )
    .action(
      action(async (context: Context<{ show?: boolean; unset?: string }>) => {
        const path = configFilePath();
        const current = readConfigFile(path);
        if (context.flags.show) {
          context.out.result({ path, ...current }, () =>
            context.out.fields([
              ['File', path],
              ['Endpoint', current.endpoint],
              ['Region', current.region],
              ['Profile', current.profile],
              ['Local as', current.localAs],
            ]),
          );
          return;
        }
        const next: FileSettings = { ...current };
        const { endpoint, region, profile, localAs, unset } = context.flags;
        if (endpoint !== undefined) next.endpoint = parseEndpoint(endpoint, '--endpoint').href;
        if (region !== undefined) next.region = region;
        if (profile !== undefined) next.profile = profile;
        if (localAs !== undefined) next.localAs = localAs;
        if (unset !== undefined) {
          if (!['endpoint', 'region', 'profile', 'localAs'].includes(unset))
            throw usage(`--unset takes endpoint, region, profile or localAs (got "${unset}")`);
          delete next[unset as keyof FileSettings];
        }
        if (endpoint === undefined && region === undefined && profile === undefined && localAs === undefined && unset === undefined) {
          throw usage('nothing to save: give --endpoint, --region, --profile, --local-as or --unset (or --show)');
        }
        writeConfigFile(next, path);
        context.out.result({ path, ...next }, () => `Saved to ${path}`);
      }),
    );
}
