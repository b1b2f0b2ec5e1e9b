/**
 * Well-formed text (T-1.10). Free text reaches emails, pages, the audit log and other systems: a
 * lone UTF-16 surrogate cannot be encoded as UTF-8 (SES refuses the whole email with a URIError),
 * and control characters hide, reorder or break lines where no one expects them. Input is
 * refused unless it is well formed (http/schemas.ts); renderers also repair what was stored
 * before that rule (`wellFormed`).
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** C0 and C1 controls, DEL, the line and paragraph separators, and the noncharacters U+FFFE/U+FFFF. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffe\uffff]/;
/** The same, but tab, line feed and carriage return are allowed (a justification has lines). */
const CONTROL_MULTI_LINE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\ufffe\uffff]/;

/** Why `text` is not acceptable input, or undefined when it is. */
export function illFormed(text: string, options: { multiLine?: boolean } = {}): string | undefined {
  if (LONE_SURROGATE.test(text)) return 'must be well-formed Unicode (it contains a lone surrogate)';
  const control = (options.multiLine ? CONTROL_MULTI_LINE : CONTROL).exec(text);
  if (control)
    return `must not contain control characters (it contains U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')})`;
  return undefined;
}

/** `text` with every lone surrogate replaced by U+FFFD (String.prototype.toWellFormed). */
export const wellFormed = (text: string): string => text.replace(new RegExp(LONE_SURROGATE.source, 'g'), '\ufffd');
