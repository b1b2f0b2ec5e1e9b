/**
 * Who is calling, and which person that is (docs/design.md §3a).
 *
 * API Gateway (AWS_IAM) authenticates a *principal*; configuration maps principals to roles. A
 * configured principal is an exact ARN or a prefix ending in `*`. Separation of duties is between
 * *people*, so every caller is turned into person keys: `email:<address>` from sign-in or from the
 * directory entry they match, the IdP's user name when the identity provider sets the session name,
 * and always `principal:<arn>`. Two actors are the same person when they share any key.
 */
export interface Person {
  /** An exact principal ARN, or a prefix ending in `*`. */
  principal: string;
  email?: string;
  /**
   * `idp`: the role's trust policy makes the identity provider set the session name (SAML or OIDC
   * federation with a `sts:RoleSessionName` condition on the IdP's user name), so a session name
   * names one person. A declaration Lockbox cannot check; IAM Identity Center roles
   * (`AWSReservedSSO_*`) need none.
   */
  sessionNameSetBy?: 'idp';
}

export type Manager = Person & { email: string };

/** The provider side of the directory: comes from deployment configuration, not from the database. */
export interface Directory {
  engineers: Person[];
  managers: Manager[];
  /** Deployment admins: may create and list tenants (`POST /tenants`, `GET /tenants`) and read any tenant's settings. Exact principals. */
  admins?: Person[];
}

export const matchesPrincipal = (pattern: string, principal: string): boolean =>
  pattern.endsWith('*') ? principal.startsWith(pattern.slice(0, -1)) : pattern === principal;

export const findPerson = <P extends Person>(people: readonly P[], principal: string): P | undefined =>
  people.find((person) => matchesPrincipal(person.principal, principal));

export type ParsedPrincipal =
  | { kind: 'iam-user'; account: string; name: string }
  | { kind: 'assumed-role'; account: string; role: string; session: string }
  | { kind: 'other'; account?: string };

/** `arn:aws:iam::<acct>:user/<path/>name` and `arn:aws:sts::<acct>:assumed-role/<role>/<session>`. */
export function parsePrincipal(arn: string): ParsedPrincipal {
  const parts = arn.split(':');
  const account = /^\d{12}$/.test(parts[4] ?? '') ? parts[4] : undefined;
  const resource = parts.slice(5).join(':');
  if (account && parts[2] === 'iam' && resource.startsWith('user/')) {
    return { kind: 'iam-user', account, name: resource.slice(resource.lastIndexOf('/') + 1) };
  }
  const [, role, session] = /^assumed-role\/([^/]+)\/(.+)$/.exec(resource) ?? [];
  if (account && parts[2] === 'sts' && role && session) return { kind: 'assumed-role', account, role, session };
  return { kind: 'other', account };
}

export const accountOf = (arn: string): string | undefined => parsePrincipal(arn).account;

/** IAM Identity Center's roles: their session name is always the user's name in the identity store. */
export const IDENTITY_CENTER_ROLE_PREFIX = 'AWSReservedSSO_';

/** True when the session name of `principal` is set by the identity provider, not by whoever assumed the role. */
export function sessionNamedByIdp(principal: string, entry?: Pick<Person, 'sessionNameSetBy'>): boolean {
  const parsed = parsePrincipal(principal);
  return parsed.kind === 'assumed-role' && (parsed.role.startsWith(IDENTITY_CENTER_ROLE_PREFIX) || entry?.sessionNameSetBy === 'idp');
}

const EMAILISH = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Who acts, as far as Lockbox knows: the signed principal, verified or configured emails, and the directory entry matched. */
export interface Identity {
  principal?: string;
  emails?: readonly (string | undefined)[];
  entry?: Pick<Person, 'sessionNameSetBy'>;
}

/**
 * Every key that names the person behind an identity; the first is *the* person key (audit's
 * `actor.person`). More keys only ever make separation of duties stricter.
 */
export function personKeys(identity: Identity): string[] {
  const keys: string[] = [];
  for (const email of identity.emails ?? []) if (email) keys.push(`email:${email.toLowerCase()}`);
  if (identity.principal) {
    const parsed = parsePrincipal(identity.principal);
    if (parsed.kind === 'assumed-role' && sessionNamedByIdp(identity.principal, identity.entry)) {
      const name = parsed.session.toLowerCase();
      keys.push(EMAILISH.test(name) ? `email:${name}` : `idp-user:${name}`);
    }
    keys.push(`principal:${identity.principal}`);
  }
  return [...new Set(keys)];
}

/** Keys of a principal and an email, as before person keys (kept for callers with nothing else to say). */
export const identityKeys = (principal: string | undefined, email: string | undefined): string[] =>
  personKeys({ principal, emails: [email] });

export interface Problem {
  path: (string | number)[];
  message: string;
}

/** A wildcard that matches sessions whose names nobody vouches for: it cannot name people. */
export function freeSessionWildcard(person: Person): string | undefined {
  if (!person.principal.endsWith('*')) return undefined;
  const [, role] = /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/([^/]+)\//.exec(person.principal) ?? [];
  if (!role) return undefined;
  if (role.startsWith(IDENTITY_CENTER_ROLE_PREFIX) || person.sessionNameSetBy === 'idp') return undefined;
  return role;
}

export const FREE_SESSION_MESSAGE = (role: string) =>
  `matches every session of role ${role}, whose session names are chosen by whoever assumes it, so it cannot tell people apart: ` +
  `list each person's session with their email, use an IAM Identity Center role (${IDENTITY_CENTER_ROLE_PREFIX}*), ` +
  `or set sessionNameSetBy: "idp" if the role's trust makes your identity provider set the session name`;

/** What makes a directory unable to name people: refused at synth, at local start-up and when a Lambda reads it. */
export function directoryProblems(directory: { engineers: readonly Person[]; managers: readonly Person[] }): Problem[] {
  const problems: Problem[] = [];
  (['engineers', 'managers'] as const).forEach((group) =>
    directory[group].forEach((person, i) => {
      const role = freeSessionWildcard(person);
      if (role) problems.push({ path: [group, i, 'principal'], message: FREE_SESSION_MESSAGE(role) });
    }),
  );
  return problems;
}

/**
 * What works but deserves a loud word: an exact session of a role whose session names are free
 * names a person only as far as nobody else may assume that role with that name.
 */
export function directoryWarnings(directory: { engineers: readonly Person[]; managers: readonly Person[] }): string[] {
  return [...directory.engineers, ...directory.managers]
    .filter(
      (person) =>
        !person.principal.endsWith('*') &&
        parsePrincipal(person.principal).kind === 'assumed-role' &&
        !sessionNamedByIdp(person.principal, person),
    )
    .map(
      (person) =>
        `${person.principal}: its session name is chosen by whoever assumes the role; anyone who may assume it can act as ${person.email ?? 'this person'} ` +
        `(use an IAM Identity Center role, or set sessionNameSetBy: "idp" when your identity provider sets session names)`,
    );
}

/** The customer's people of a tenant, as stored or configured. */
export interface CustomerSide {
  approvers: readonly { email: string; principal?: string }[];
  admins: readonly string[];
  auditors?: readonly string[];
  accessTarget?: { accountId?: string };
  /** AWS accounts whose principals belong to the customer. @default the access target's account */
  customerAccounts?: readonly string[];
}

/** The provider: its directory (engineers, managers, and any other provider people) and its accounts. */
export interface ProviderSide {
  people: readonly Person[];
  /** @default the accounts of the directory's principals */
  accounts?: readonly string[];
}

export const providerSide = (
  directory: { engineers: readonly Person[]; managers: readonly Person[]; admins?: readonly Person[] },
  accounts?: readonly string[],
): ProviderSide => {
  const people = [...directory.engineers, ...directory.managers, ...(directory.admins ?? [])];
  return {
    people,
    accounts: accounts ?? [...new Set(people.map((person) => accountOf(person.principal)).filter((id): id is string => Boolean(id)))],
  };
};

export const isEmailEntry = (entry: string): boolean => !entry.startsWith('arn:') && EMAILISH.test(entry);

/** Why an entry (principal or email) belongs to the provider, if it does: a provider person, or a principal of a provider account. */
export function providerReason(entry: { principal?: string; email?: string }, provider: ProviderSide): string | undefined {
  if (entry.email) {
    const email = entry.email.toLowerCase();
    if (provider.people.some((person) => person.email?.toLowerCase() === email))
      return `${entry.email} is a person of the provider, not of the customer`;
  }
  if (!entry.principal) return undefined;
  if (findPerson(provider.people, entry.principal))
    return `${entry.principal} is a principal of the provider's directory, not of the customer`;
  const account = accountOf(entry.principal);
  if (account && (provider.accounts ?? []).includes(account))
    return `${entry.principal} is in the provider's account ${account}, not the customer's`;
  return undefined;
}

/**
 * Why an entry of a tenant's approvers, admins or auditors is not customer-side, if it is not:
 * a principal must belong to one of the tenant's accounts and to no provider person or account;
 * a sign-in email must not be a provider person's.
 */
export function notCustomerSide(
  entry: { principal?: string; email?: string },
  tenant: Pick<CustomerSide, 'accessTarget' | 'customerAccounts'>,
  provider: ProviderSide,
): string | undefined {
  const fromProvider = providerReason(entry, provider);
  if (fromProvider || !entry.principal) return fromProvider;
  const providerAccounts = provider.accounts ?? [];
  const account = accountOf(entry.principal);
  const accounts = (tenant.customerAccounts ?? [tenant.accessTarget?.accountId]).filter((id) => id && !providerAccounts.includes(id));
  if (!account || !accounts.includes(account)) {
    return `${entry.principal} is not in the tenant's own account${accounts.length === 1 ? '' : 's'} (${accounts.join(', ') || 'none: set customerAccounts or accessTarget.accountId'})`;
  }
  return undefined;
}

/** Every entry of a tenant's approvers, admins and auditors that is not customer-side (T-5.10). */
export function customerSideProblems(tenant: CustomerSide, provider: ProviderSide): Problem[] {
  const problems: Problem[] = [];
  const check = (path: Problem['path'], entry: { principal?: string; email?: string }) => {
    const why = notCustomerSide(entry, tenant, provider);
    if (why) problems.push({ path, message: why });
  };
  tenant.approvers.forEach((approver, i) => {
    check(['approvers', i, 'email'], { email: approver.email });
    if (approver.principal) check(['approvers', i, 'principal'], { principal: approver.principal });
  });
  for (const group of ['admins', 'auditors'] as const) {
    (tenant[group] ?? []).forEach((entry, i) => check([group, i], isEmailEntry(entry) ? { email: entry } : { principal: entry }));
  }
  return problems;
}

/** `approvers[0].principal` */
export const pathText = (path: Problem['path']): string =>
  path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${part}` : part), '');
