/** A value built on first use, then reused for the life of the Lambda container. */
export const once = <T>(make: () => T): (() => T) => {
  let value: T | undefined;
  return () => (value ??= make());
};
