import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, EXIT, usage } from './errors';

/**
 * Where and as whom the command line calls. Each value comes from, in this order: the flag, the
 * environment, the configuration file `lockbox configure` writes, a default.
 *
 *   endpoint  --endpoint, LOCKBOX_ENDPOINT, file    the API's base URL with its stage (…/v1)
 *   region    --region, AWS_REGION, AWS_DEFAULT_REGION, file, else the endpoint's host
 *   profile   --profile, AWS_PROFILE, file           the AWS credentials profile
 *   localAs   --local-as, LOCKBOX_LOCAL_AS, file     local mode only: the persona or ARN to call as
 */
export interface GlobalFlags {
  endpoint?: string;
  region?: string;
  profile?: string;
  localAs?: string;
  json?: boolean;
  debug?: boolean;
  color?: boolean;
}

export interface FileSettings {
  endpoint?: string;
  region?: string;
  profile?: string;
  localAs?: string;
}

export interface Settings {
  endpoint: URL;
  region?: string;
  profile?: string;
  /** Set in local mode: the principal named in `x-lockbox-principal` instead of a signature. */
  localPrincipal?: string;
  localPersona?: string;
}

/** `LOCKBOX_CONFIG`, else `$XDG_CONFIG_HOME/lockbox/config.json`, else `~/.config/lockbox/config.json`. */
export const configFilePath = (): string =>
  process.env.LOCKBOX_CONFIG || join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'lockbox', 'config.json');

export function readConfigFile(path = configFilePath()): FileSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    const known: (keyof FileSettings)[] = ['endpoint', 'region', 'profile', 'localAs'];
    return Object.fromEntries(
      known
        .filter((key) => typeof (parsed as Record<string, unknown>)[key] === 'string')
        .map((key) => [key, (parsed as Record<string, string>)[key]]),
    );
  } catch {
    throw usage(`the configuration file ${path} is not a JSON object; fix it or run lockbox configure again`);
  }
}

export function writeConfigFile(settings: FileSettings, path = configFilePath()): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  return path;
}

export function parseEndpoint(text: string, source: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usage(`${source} is not a URL: "${text}" (e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/v1)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw usage(`${source} must be an http(s) URL: "${text}"`);
  if (url.protocol === 'http:' && !isLoopback(url.hostname))
    throw usage(`${source} must use https (plain http only for localhost): "${text}"`);
  url.pathname = url.pathname.replace(/\/+$/, '');
  url.search = '';
  url.hash = '';
  return url;
}

const isLoopback = (hostname: string): boolean => ['localhost', '127.0.0.1', '[::1]'].includes(hostname);

/** `abc.execute-api.eu-west-1.amazonaws.com` → `eu-west-1`. */
const regionOf = (url: URL): string | undefined => /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname)?.[1];

export async function resolveSettings(flags: GlobalFlags): Promise<Settings> {
  const file = readConfigFile();
  const endpointText = flags.endpoint ?? process.env.LOCKBOX_ENDPOINT ?? file.endpoint;
  if (!endpointText) {
    throw new CliError(
      EXIT.usage,
      'no endpoint: pass --endpoint URL, set LOCKBOX_ENDPOINT, or run lockbox configure --endpoint URL (local mode: http://localhost:3000)',
    );
  }
  const endpoint = parseEndpoint(
    endpointText,
    flags.endpoint ? '--endpoint' : process.env.LOCKBOX_ENDPOINT ? 'LOCKBOX_ENDPOINT' : 'the configured endpoint',
  );
  const localAs = flags.localAs ?? process.env.LOCKBOX_LOCAL_AS ?? file.localAs;
  const settings: Settings = {
    endpoint,
    region: flags.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? file.region ?? regionOf(endpoint),
    profile: flags.profile ?? process.env.AWS_PROFILE ?? file.profile,
  };
  if (localAs) Object.assign(settings, await localPrincipal(localAs));
  return settings;
}

/** A persona of local mode (local/personas.ts) by name, or an ARN as it is. */
async function localPrincipal(nameOrArn: string): Promise<Pick<Settings, 'localPrincipal' | 'localPersona'>> {
  if (nameOrArn.startsWith('arn:')) return { localPrincipal: nameOrArn };
  const { PERSONAS } = require('../local/personas') as typeof import('../local/personas'); // lazy: only in local mode
  const persona = (PERSONAS as Record<string, { principal: string }>)[nameOrArn.toLowerCase()];
  if (!persona) throw usage(`--local-as: no persona "${nameOrArn}" (known: ${Object.keys(PERSONAS).join(', ')}; or give an ARN)`);
  return { localPrincipal: persona.principal, localPersona: nameOrArn.toLowerCase() };
}
