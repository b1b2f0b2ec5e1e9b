import { ChangedMeanwhile } from '../domain/errors';
import type { AccessRequest } from '../domain/request';
import { loadRequest } from './authorize';
import type { Deps } from './deps';

/** How often a write is tried again after a benign concurrent write; real contention on one request is rare. */
const ATTEMPTS = 5;

/**
 * Nothing stranded by a benign concurrent write: runs `attempt` on a read of the request, and when
 * its conditional write finds the request changed meanwhile (a task token attached, a version
 * bumped), reads it again and runs `attempt` again — its checks see the new state, so a real
 * change (decided, cancelled, expired) answers with its own refusal. Bounded: after `ATTEMPTS`
 * the last ChangedMeanwhile (409) goes to the caller. `first` saves the first read when the caller
 * already holds one.
 */
export async function withFreshRead<T>(
  deps: Deps,
  requestId: string,
  attempt: (request: AccessRequest) => Promise<T>,
  first?: AccessRequest,
): Promise<T> {
  let request = first ?? (await loadRequest(deps, requestId));
  for (let tries = 1; ; tries++) {
    try {
      return await attempt(request);
    } catch (error) {
      if (!(error instanceof ChangedMeanwhile) || tries >= ATTEMPTS) throw error;
      request = await loadRequest(deps, requestId);
    }
  }
}
