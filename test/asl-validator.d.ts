declare module 'asl-validator' {
  const validate: (definition: unknown, options?: Record<string, unknown>) => { isValid: boolean; errors: unknown[] };
  export default validate;
}
