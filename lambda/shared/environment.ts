/**
 * The named environment variables, each non-empty. Throws one error naming every missing one, so
 * a misconfigured function fails its first invocation with the whole list.
 */
export function requiredEnvironment<Name extends string>(environment: NodeJS.ProcessEnv, names: readonly Name[]): Record<Name, string> {
  const missing = names.filter((name) => !environment[name]);
  if (missing.length > 0) throw new Error(`missing environment variable${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
  return Object.fromEntries(names.map((name) => [name, environment[name]])) as Record<Name, string>;
}
