import { App, Stack } from 'aws-cdk-lib';
import { GitHubDeployRoles, type GitHubDeployRolesProps } from '../../../lib/constructs/github-deploy-roles';
import { buildStacks, resourceOf } from '../../helpers/cdk-app';
import { thrownBy } from '../../helpers/errors';
import { accessControls, templateValues } from '../../helpers/template-values';

// Every trust and permission below is written out: a broadened condition or grant fails a test.

/** The four roles `cdk bootstrap` makes, which the deploy roles may assume and nothing else. */
const bootstrapRoles = (qualifier: string) =>
  ['deploy', 'file-publishing', 'image-publishing', 'lookup'].map((kind) => `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/cdk-${qualifier}-${kind}-role-\${AWS::AccountId}-\${AWS::Region}`);
const assumesBootstrapRoles = (qualifier: string) => bootstrapRoles(qualifier).flatMap((role) => [`Allow sts:AssumeRole ${role}`, `Allow sts:TagSession ${role}`]).sort();
const trust = (provider: string, repository: string, environment: string) => [
  `Allow Federated:${provider} sts:AssumeRoleWithWebIdentity if ${JSON.stringify({ StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com', 'token.actions.githubusercontent.com:sub': `repo:${repository}:environment:${environment}` } })}`,
];

describe('the deploy-access stack', () => {
  it('is not in the app unless githubRepository names the repository', () => {
    const { app, deployAccess } = buildStacks();
    expect(deployAccess).toBeUndefined();
    expect(app.node.children.map((child) => child.node.id).sort()).toEqual(['dynalake-dev-pipeline', 'dynalake-dev-storage']);
  });

  it('creates the GitHub OIDC provider for STS, and a role per stage that only its environment of that repository may assume, and that may only assume the bootstrap roles', () => {
    const { deployAccess } = buildStacks({ githubRepository: 'acme/shop-lake' });
    if (!deployAccess) throw new Error('githubRepository is set: the stack is there');
    expect(deployAccess.stackName).toBe('dynalake-deploy-access');
    const values = templateValues(deployAccess);
    expect(Object.values(values.ofType('AWS::IAM::OIDCProvider')).map(({ Tags: _tags, ...provider }) => provider)).toEqual([{ Url: 'https://token.actions.githubusercontent.com', ClientIdList: ['sts.amazonaws.com'] }]);
    // The provider's Ref is its ARN.
    const provider = '${GitHubDeployRoles/GitHub}';
    expect(accessControls(values).roles).toEqual({
      'GitHubDeployRoles/Deploy-dev': { assumedBy: trust(provider, 'acme/shop-lake', 'dev'), allows: assumesBootstrapRoles('hnb659fds'), managedPolicies: [] },
      'GitHubDeployRoles/Deploy-prod': { assumedBy: trust(provider, 'acme/shop-lake', 'prod'), allows: assumesBootstrapRoles('hnb659fds'), managedPolicies: [] },
    });
    expect(Object.values(values.ofType('AWS::IAM::Role')).map((role) => [role.RoleName, role.MaxSessionDuration])).toEqual([
      ['dynalake-github-deploy-dev', 3600],
      ['dynalake-github-deploy-prod', 3600],
    ]);
  });

  it('trusts the account’s own provider when given, and takes the stages from githubDeployStages, written as a list or as --context text', () => {
    const arn = 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com';
    for (const stages of [['staging'], 'staging']) {
      const { deployAccess } = buildStacks({ githubRepository: 'acme/shop', githubOidcProviderArn: arn, githubDeployStages: stages });
      if (!deployAccess) throw new Error('githubRepository is set: the stack is there');
      const values = templateValues(deployAccess);
      expect(values.ofType('AWS::IAM::OIDCProvider')).toEqual({});
      expect(accessControls(values).roles).toEqual({ 'GitHubDeployRoles/Deploy-staging': { assumedBy: trust(arn, 'acme/shop', 'staging'), allows: assumesBootstrapRoles('hnb659fds'), managedPolicies: [] } });
    }
  });

  it('synthesizes with cdk-nag and the deploy rules and no finding', () => {
    const { app } = buildStacks({ githubRepository: 'acme/shop-lake' });
    expect(() => app.synth()).not.toThrow();
  });
});

describe('GitHubDeployRoles', () => {
  const roles = (props: Partial<GitHubDeployRolesProps>) => new GitHubDeployRoles(new Stack(new App(), 'Access'), 'Roles', { repository: 'acme/shop', environments: ['dev'], roleNamePrefix: 'lake', ...props });

  it('may assume the bootstrap roles of another qualifier', () => {
    const construct = roles({ bootstrapQualifier: 'lake1' });
    const values = templateValues(Stack.of(construct));
    expect(accessControls(values).roles['Roles/Deploy-dev']?.allows).toEqual(assumesBootstrapRoles('lake1'));
    expect(resourceOf(construct.roles.dev as never).Properties.RoleName).toBe('lake-dev');
  });

  it.each([
    [{ repository: 'acme' }, 'Access/Roles: repository "acme" is not a GitHub repository (expected owner/name)'],
    [{ repository: 'acme/*' }, 'Access/Roles: repository "acme/*" is not a GitHub repository (expected owner/name)'],
    [{ repository: '*/*' }, 'Access/Roles: repository "*/*" is not a GitHub repository (expected owner/name)'],
    [{ environments: [] }, 'Access/Roles: environments must name at least one GitHub environment'],
    [{ environments: ['dev', '*'] }, 'Access/Roles: environment "*" is not a GitHub environment name'],
    [{ bootstrapQualifier: 'hnb659fds*' }, 'Access/Roles: bootstrapQualifier "hnb659fds*" is not a CDK bootstrap qualifier (1 to 10 letters, digits, - or _)'],
  ])('refuses %j, naming the construct: a wildcard would trust other repositories or roles', (props, message) => {
    expect((thrownBy(() => roles(props)) as Error).message).toBe(message);
  });
});
