import { Duration, Stack } from 'aws-cdk-lib';
import { type IOidcProvider, OidcProviderNative, PolicyStatement, Role, WebIdentityPrincipal } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** GitHub Actions' token issuer: https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services */
export const GITHUB_OIDC_ISSUER = 'token.actions.githubusercontent.com';
/** The audience aws-actions/configure-aws-credentials asks GitHub to put in the token. */
export const GITHUB_OIDC_AUDIENCE = 'sts.amazonaws.com';
/** The qualifier `cdk bootstrap` gives its roles unless told another. */
export const DEFAULT_BOOTSTRAP_QUALIFIER = 'hnb659fds';
/**
 * The roles the CDK CLI assumes to deploy, as the bootstrap stack names them
 * (`cdk-<qualifier>-<kind>-role-<account>-<region>`, DefaultStackSynthesizer's defaults).
 */
export const BOOTSTRAP_ROLE_KINDS = ['deploy', 'file-publishing', 'image-publishing', 'lookup'] as const;

/** A GitHub repository, `owner/name`, without a wildcard. */
export const GITHUB_REPOSITORY = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
/** A GitHub environment name, without a wildcard. */
export const GITHUB_ENVIRONMENT = /^[A-Za-z0-9_.-]{1,255}$/;
const QUALIFIER = /^[A-Za-z0-9_-]{1,10}$/;

/** Properties of {@link GitHubDeployRoles}. */
export interface GitHubDeployRolesProps {
  /** The repository whose workflows deploy, `owner/name`: its environments, and no other repository's, may assume the roles. */
  readonly repository: string;
  /** The GitHub environments that deploy, one role each (the stages: `dev`, `prod`). */
  readonly environments: readonly string[];
  /** Role names: `<roleNamePrefix>-<environment>`. */
  readonly roleNamePrefix: string;
  /**
   * The account's GitHub OIDC provider, when it has one (an account has at most one per issuer).
   * @default - one is created
   */
  readonly oidcProviderArn?: string;
  /**
   * The qualifier of the account's CDK bootstrap stack.
   * @default 'hnb659fds'
   */
  readonly bootstrapQualifier?: string;
}

/**
 * The roles a GitHub Actions workflow deploys with, through OIDC: no stored key. Each role trusts
 * tokens whose audience is STS and whose subject is one environment of one repository
 * (`repo:<owner>/<name>:environment:<env>`: GitHub's subject for a job that names an environment),
 * and may only assume the CDK bootstrap roles of this account and region, which do the deploying
 * with the permissions `cdk bootstrap` gave them.
 */
export class GitHubDeployRoles extends Construct {
  /** The OIDC provider the roles trust. */
  readonly provider: IOidcProvider;
  /** The role of each environment. */
  readonly roles: Readonly<Record<string, Role>>;

  constructor(scope: Construct, id: string, props: GitHubDeployRolesProps) {
    super(scope, id);
    if (!GITHUB_REPOSITORY.test(props.repository)) throw new Error(`${this.node.path}: repository ${JSON.stringify(props.repository)} is not a GitHub repository (expected owner/name)`);
    if (props.environments.length === 0) throw new Error(`${this.node.path}: environments must name at least one GitHub environment`);
    for (const environment of props.environments) {
      if (!GITHUB_ENVIRONMENT.test(environment)) throw new Error(`${this.node.path}: environment ${JSON.stringify(environment)} is not a GitHub environment name`);
    }
    const qualifier = props.bootstrapQualifier ?? DEFAULT_BOOTSTRAP_QUALIFIER;
    if (!QUALIFIER.test(qualifier)) throw new Error(`${this.node.path}: bootstrapQualifier ${JSON.stringify(qualifier)} is not a CDK bootstrap qualifier (1 to 10 letters, digits, - or _)`);

    this.provider =
      props.oidcProviderArn === undefined
        ? new OidcProviderNative(this, 'GitHub', { url: `https://${GITHUB_OIDC_ISSUER}`, clientIds: [GITHUB_OIDC_AUDIENCE] })
        : OidcProviderNative.fromOidcProviderArn(this, 'GitHub', props.oidcProviderArn);

    const stack = Stack.of(this);
    // The bootstrap roles trust this account with sts:AssumeRole and sts:TagSession (the CLI may tag its sessions).
    const bootstrapRoles = BOOTSTRAP_ROLE_KINDS.map((kind) =>
      stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: `cdk-${qualifier}-${kind}-role-${stack.account}-${stack.region}` }),
    );
    this.roles = Object.fromEntries(
      props.environments.map((environment) => {
        const role = new Role(this, `Deploy-${environment}`, {
          roleName: `${props.roleNamePrefix}-${environment}`,
          description: `Deploys ${props.repository} from its GitHub environment ${environment}, through the CDK bootstrap roles`,
          maxSessionDuration: Duration.hours(1),
          // https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html#idp_oidc_Create_GitHub
          assumedBy: new WebIdentityPrincipal(this.provider.openIdConnectProviderArn, {
            StringEquals: { [`${GITHUB_OIDC_ISSUER}:aud`]: GITHUB_OIDC_AUDIENCE, [`${GITHUB_OIDC_ISSUER}:sub`]: `repo:${props.repository}:environment:${environment}` },
          }),
        });
        role.addToPrincipalPolicy(new PolicyStatement({ actions: ['sts:AssumeRole', 'sts:TagSession'], resources: bootstrapRoles }));
        return [environment, role];
      }),
    );
  }
}
