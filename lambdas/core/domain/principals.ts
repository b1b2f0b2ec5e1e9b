/**
 * Who is calling. API Gateway (AWS_IAM) authenticates; configuration maps principals to roles.
 * A configured principal is an exact ARN or a prefix ending in `*`
 * (e.g. `arn:aws:sts::111111111111:assumed-role/SupportEngineer/*` for every session of a role).
 */
export interface Person {
  principal: string;
  email?: string;
}

/** The provider side of the directory: comes from deployment configuration, not from the database. */
export interface Directory {
  engineers: Person[];
  managers: Required<Person>[];
}

export const matchesPrincipal = (pattern: string, principal: string): boolean =>
  pattern.endsWith('*') ? principal.startsWith(pattern.slice(0, -1)) : pattern === principal;

export const findPerson = <P extends Person>(people: readonly P[], principal: string): P | undefined =>
  people.find((person) => matchesPrincipal(person.principal, principal));

/**
 * The keys that identify one human for separation of duties: their principal and, when known,
 * their email — so the same person cannot act twice by switching between the API and a link.
 */
export const identityKeys = (principal: string | undefined, email: string | undefined): string[] =>
  [principal && `principal:${principal}`, email && `email:${email.toLowerCase()}`].filter(
    (key): key is string => Boolean(key),
  );
