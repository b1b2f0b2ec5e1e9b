/**
 * The people of local mode's demo world (the provider's and the customer's), by first name. A
 * module of its own, with no imports, so the command line's `--local-as <name>` reads it cheaply.
 */
export const PERSONAS = {
  alice: {
    principal: 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/alice',
    email: 'alice@provider.example',
    role: 'support engineer (requester)',
  },
  dave: {
    principal: 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/dave',
    email: 'dave@provider.example',
    role: 'support engineer (requester)',
  },
  bob: { principal: 'arn:aws:sts::111111111111:assumed-role/SupportManager/bob', email: 'bob@provider.example', role: 'support manager' },
  carol: {
    principal: 'arn:aws:iam::222222222222:user/carol',
    email: 'approver@demo.example',
    role: 'customer approver and tenant admin of "demo"',
  },
  erin: { principal: 'arn:aws:iam::222222222222:user/erin', email: 'approver2@demo.example', role: 'customer approver of "demo"' },
  olivia: {
    principal: 'arn:aws:sts::111111111111:assumed-role/LockboxOperator/olivia',
    email: 'olivia@provider.example',
    role: 'deployment admin (creates and lists tenants)',
  },
} as const;
