import { escapeHtml, utc } from '../messages';

/**
 * Where a page's values may wrap: between words and between an identifier's parts, never inside a
 * word, an id, a ticket or a date (a browser breaks a table cell's or a narrow card's text at any
 * hyphen, or with `overflow-wrap:anywhere` anywhere). Every helper returns escaped HTML.
 */

/**
 * Escaped, each piece between spaces up to `upTo` characters kept whole: no break at the hyphen of
 * an id, a ticket or a date. A longer one may still wrap at its hyphens.
 */
export const whole = (text: string, upTo = Number.POSITIVE_INFINITY) =>
  text
    .split(' ')
    .map((word) => (!word ? '' : word.length <= upTo ? `<span class="nowrap">${escapeHtml(word)}</span>` : escapeHtml(word)))
    .join(' ');

/** The date, then the time with its zone: two pieces, each kept whole. */
export const when = (at: number | string) =>
  utc(at)
    .split(/ (?=\d)/)
    .map((part) => `<span class="nowrap">${escapeHtml(part)}</span>`)
    .join(' ');

/** A quoted timestamp with its comma ("2026-12-01T16:29:59.077Z",) is 27: short values (details, tickets, emails) stay whole. */
const SHORT = 32;
export const shortValue = (text: string) => whole(text, SHORT);

/**
 * Free to wrap where `at` matches (after an ARN's `:` and `/`, before an email's `@`, between
 * JSON's fields): a table cell never breaks inside a word, so a long value needs such places.
 */
export const wrapAt = (text: string, at: RegExp, piece: (part: string) => string = escapeHtml) =>
  text
    .split(at)
    .map((part) => piece(part))
    .join('<wbr>');
const NAME_PARTS = /(?<=[/:])(?!:)|(?=@)/;
export const JSON_FIELDS = /(?<=,|":|\/)/;

/** A request id ("req-" and 32 hex digits), whole; monospace, so it fits a phone's card on one line. */
export const requestIdHtml = (requestId: string) => `<code>${whole(requestId)}</code>`;

/**
 * An ARN, an email or a sentence naming one: wraps between words and between a name's parts
 * (each part whole); a name up to `upTo` characters is kept whole.
 */
export const nameParts = (text: string, upTo = 0) =>
  text
    .split(' ')
    .map((word) => (word.length <= upTo ? whole(word) : wrapAt(word, NAME_PARTS, whole)))
    .join(' ');
/** Where there is room for a short name on a line of its own (a card, a decision): "approver@demo.example" whole. */
export const shortName = (text: string) => nameParts(text, SHORT);

/**
 * A table that a phone (up to 30rem, the `.stack` style) shows as one card per row, each value
 * after its column's name (`data-label`, hidden from screen readers). Explicit roles keep it a
 * table to a screen reader when it is shown as blocks. Each row is its cells' HTML, one per column.
 */
export function stackTable(columns: readonly string[], rows: readonly string[][], caption = ''): string {
  const head = columns.map((label) => `<th scope="col" role="columnheader">${escapeHtml(label)}</th>`).join('');
  const body = rows
    .map(
      (cells) =>
        `<tr role="row">${cells.map((html, index) => `<td role="cell" data-label="${escapeHtml(columns[index] ?? '')}">${html}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<div class="scroll"><table class="stack" role="table">${caption ? `<caption class="hint">${escapeHtml(caption)}</caption>` : ''}<thead role="rowgroup"><tr role="row">${head}</tr></thead><tbody role="rowgroup">${body}</tbody></table></div>`;
}
