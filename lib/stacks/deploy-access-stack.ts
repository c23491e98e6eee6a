import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../config';
import { GitHubDeployRoles } from '../constructs/github-deploy-roles';

/** Properties of the {@link DeployAccessStack}. */
export interface DeployAccessStackProps extends StackProps {
  /** The validated configuration, with `githubRepository` set. */
  readonly config: PipelineConfig & { readonly githubRepository: string };
}

/**
 * What GitHub Actions deploys with: the account's GitHub OIDC provider (or the one it has) and a
 * role per deployed stage, each held to one environment of one repository and to assuming the CDK
 * bootstrap roles. Deployed once from a laptop, after `cdk bootstrap`; the workflows then need no
 * stored key.
 */
export class DeployAccessStack extends Stack {
  /** The OIDC provider and the roles. */
  readonly deployRoles: GitHubDeployRoles;

  constructor(scope: Construct, id: string, props: DeployAccessStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.deployRoles = new GitHubDeployRoles(this, 'GitHubDeployRoles', {
      repository: config.githubRepository,
      environments: config.githubDeployStages,
      roleNamePrefix: `${config.prefix}-github-deploy`,
      oidcProviderArn: config.githubOidcProviderArn,
    });
  }
}
