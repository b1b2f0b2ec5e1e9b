import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CONTEXT, ConfigError, loadConfig } from '../lib/config';
import { LockboxStack } from '../lib/lockbox-stack';

// No env: the stack stays account- and region-agnostic, so synth needs no credentials.
const app = new App();
try {
  const { config, source } = loadConfig((key) => app.node.tryGetContext(key));
  new LockboxStack(app, String(app.node.tryGetContext(CONTEXT.stackName) ?? 'Lockbox'), {
    config,
    description: `Lockbox: customer-approved, time-bound support access (configuration: ${source})`,
  });
} catch (error) {
  // A configuration mistake is the operator's to fix: say what is wrong, without a stack trace.
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
// cdk-nag on every synth: an unacknowledged finding fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
