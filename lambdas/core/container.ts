import { config } from './config';
import { systemClock } from './domain/clock';
import { log } from './observability';
import type { Deps } from './usecases/deps';

/**
 * The use cases' dependencies for ONE function, from the parts its handler wires in. Each part is a
 * factory from `wiring/` (one per AWS concern, each importing only its own SDK client), built on
 * first use and reused for the life of the Lambda container. A handler imports only the factories
 * it needs, so esbuild leaves every other SDK client out of its bundle (`npm run bench` shows the
 * bundles and their cold starts). Never import an SDK client or a `wiring/` file here.
 *
 * A part a handler did not wire fails loudly on first use, naming it: the CDK wiring grants each
 * function the same parts (lib/lockbox.ts), and the e2e tests run every handler's paths.
 * Endpoints come from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>` variables, which is how local
 * mode points them at the emulators.
 */
type Part = 'requests' | 'tenants' | 'audit' | 'refusals' | 'mailer' | 'workflow' | 'access' | 'signer';
export type Parts = { [K in Part]?: () => Deps[K] };

export function wire(parts: Parts): Deps {
  const deps = { clock: systemClock, log } as Deps;
  const names: Part[] = ['requests', 'tenants', 'audit', 'refusals', 'mailer', 'workflow', 'access', 'signer'];
  for (const name of names) {
    Object.defineProperty(deps, name, {
      get: () => {
        const make = parts[name];
        if (!make) throw new Error(`deps.${name} is not wired into this function: add it to wire() in its handler`);
        return make();
      },
    });
  }
  Object.defineProperty(deps, 'directory', { get: config.directory });
  Object.defineProperty(deps, 'policy', { get: config.policy });
  return deps;
}

export { log };
