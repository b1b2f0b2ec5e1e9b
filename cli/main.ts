import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { registerAudit } from './commands/audit';
import { registerConfigure } from './commands/configure';
import { registerCredentials } from './commands/credentials';
import { registerDecisions } from './commands/decisions';
import { registerRequests } from './commands/requests';
import { registerTenants } from './commands/tenants';
import { CliError, EXIT } from './errors';

/**
 * `lockbox`: the command line of every persona (docs/design.md §6b). Each command is one API call or a
 * short sequence of them; what it prints and how it exits is documented in docs/cli.md.
 * Modules that cost start-up time (the AWS SDK, the signer) are imported only by the commands
 * that use them.
 */
export function buildProgram(): Command {
  const program = new Command('lockbox')
    .description('Lockbox: customer-approved, time-bound support access — one command for every persona')
    .version(version(), '-V, --version')
    .option('--endpoint <url>', "the API's base URL with its stage (or LOCKBOX_ENDPOINT, or lockbox configure)")
    .option('--region <region>', "the AWS region to sign for (default: AWS_REGION, or the endpoint's)")
    .option('--profile <name>', 'the AWS credentials profile (default: AWS_PROFILE, then the standard chain)')
    .option('--local-as <persona|arn>', 'local mode only: call as this persona (alice, bob, carol, …) or ARN, unsigned')
    .option('--json', 'print JSON instead of tables (for scripts)')
    .addOption(new Option('--no-color', 'no colours (also: NO_COLOR=1; colours are used only on a terminal)'))
    .option('--debug', "on failure, show the HTTP exchange, the API's details and the stack")
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .addHelpText(
      'after',
      `
Engineers:        request create|show|list|wait|cancel, credentials
Managers and the customer's approvers:   pending, approve, reject|deny, revoke
Admins:           tenants list|show|create|update
Auditors:         audit list|export|verify|digests
Set-up:           configure

Exit codes: 0 ok, 1 internal error, 2 usage, 3 refused by the API (4xx), 4 endpoint unreachable
or failing (5xx), 5 credentials missing/expired/not accepted, 6 audit log does not verify,
7 request not in the needed state, 8 timed out. Details: docs/cli.md.

Local mode (npm start):  lockbox --endpoint http://localhost:3000 --local-as alice request list -t demo`,
    );
  registerRequests(program);
  registerCredentials(program);
  registerDecisions(program);
  registerTenants(program);
  registerAudit(program);
  registerConfigure(program);
  // One line on stderr for every usage mistake, in every subcommand.
  const configure = (command: Command) => {
    command.exitOverride().configureOutput({
      outputError: (text, write) =>
        write(
          `lockbox: ${text
            .replace(/^error: /, '')
            .trim()
            .replace(/\s*\n\s*/g, ' ')} (see ${commandPath(command)} --help)\n`,
        ),
    });
    command.commands.forEach(configure);
  };
  configure(program);
  return program;
}

const commandPath = (command: Command): string => (command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name());

/** Runs the command line; resolves to the exit code (never throws). */
export async function run(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug') || Boolean(process.env.LOCKBOX_DEBUG);
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT.ok); // `lockbox audit export | head`
  });
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    return report(error, debug);
  }
}

function report(error: unknown, debug: boolean): number {
  if (error instanceof CommanderError) {
    // Already printed (one line) by commander; help and version are not failures.
    return ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code) ? EXIT.ok : EXIT.usage;
  }
  const red = process.stderr.isTTY && !process.env.NO_COLOR ? (text: string) => `\x1b[31m${text}\x1b[0m` : (text: string) => text;
  if (error instanceof CliError) {
    process.stderr.write(`${red('lockbox:')} ${error.message}\n`);
    if (debug && error.debug !== undefined) process.stderr.write(`lockbox debug: ${describe(error.debug)}\n`);
    if (debug) process.stderr.write(`${error.stack}\n`);
    return error.exitCode;
  }
  process.stderr.write(
    `${red('lockbox:')} unexpected error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}${debug ? '' : ' (run again with --debug for the details)'}\n`,
  );
  if (debug && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  return EXIT.internal;
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}${value.stack ? `\n${value.stack}` : ''}`;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function version(): string {
  for (const path of [join(__dirname, '..', 'package.json'), join(__dirname, '..', '..', 'package.json')]) {
    try {
      return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
    } catch {
      // not here: the built package keeps package.json one level further up
    }
  }
  return 'unknown';
}
