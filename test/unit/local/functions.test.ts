import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Capacity } from '../../../local/capacity';
import { loadFunctions } from '../../../local/functions';

describe("local mode's functions", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lockbox-functions-'));
    await writeFile(
      join(dir, 'step.js'),
      `exports.handler = async (event) => { if (event.fail) throw Object.assign(new Error('no approver could be emailed'), { name: 'NotificationFailed' }); return { ok: true }; };`,
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('logs what a function threw, as the Lambda runtime does, and throws it on to the caller', async () => {
    const { step } = loadFunctions({ step: join(dir, 'step.js') }, {}, new Capacity(32, 15_000));
    const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await expect(step.invoke({})).resolves.toEqual({ ok: true });
      expect(logged).not.toHaveBeenCalled();
      await expect(step.invoke({ fail: true })).rejects.toMatchObject({ name: 'NotificationFailed' });
      expect(logged).toHaveBeenCalledWith('local mode: lockbox-step failed: NotificationFailed: no approver could be emailed');
    } finally {
      logged.mockRestore();
    }
  });
});
