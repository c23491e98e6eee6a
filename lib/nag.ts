import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/**
 * Runs the cdk-nag AwsSolutions pack over the whole app at synth. With the cdk.json flag
 * `@aws-cdk/core:strictCfnValidateErrors` any finding, error or warning, fails the synth unless
 * it is acknowledged. Acknowledgements belong in this module, one function per stack, each
 * with a reason that names the resource and why nothing narrower exists.
 */
export function addComplianceChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}
