/**
 * What the command line prints. Results go to stdout — a table or key/value lines for people,
 * JSON with `--json` for scripts; notes, progress and errors go to stderr, so a pipe gets only
 * the result. Colours only when the stream is a terminal and NO_COLOR is not set.
 */
export interface OutputOptions {
  json: boolean;
  color?: boolean;
}

const colorAllowed = (stream: NodeJS.WriteStream, wanted: boolean | undefined): boolean =>
  wanted !== false && stream.isTTY === true && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '') && process.env.TERM !== 'dumb';

const paint = (code: string) => (on: boolean) => (text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);
const PAINTS = { bold: paint('1'), dim: paint('2'), red: paint('31'), green: paint('32'), yellow: paint('33'), cyan: paint('36') };
export type Painter = Record<keyof typeof PAINTS, (text: string) => string>;

const painter = (on: boolean): Painter => Object.fromEntries(Object.entries(PAINTS).map(([name, make]) => [name, make(on)])) as Painter;

export class Output {
  readonly json: boolean;
  /** Colours for stdout and for stderr (each a terminal or not on its own). */
  readonly out: Painter;
  readonly err: Painter;

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.out = painter(colorAllowed(process.stdout, options.color));
    this.err = painter(colorAllowed(process.stderr, options.color));
  }

  /** The result: JSON when `--json`, else what `human` renders. */
  result(value: unknown, human: () => string): void {
    process.stdout.write(this.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
  }

  /** A note for people (stderr), e.g. "local mode: calling as alice". */
  note(text: string): void {
    process.stderr.write(`${this.err.dim(`lockbox: ${text}`)}\n`);
  }

  /** A table with a header row; empty cells stay empty. */
  table(columns: string[], rows: string[][]): string {
    if (rows.length === 0) return this.out.dim('(none)');
    const widths = columns.map((column, i) => Math.max(column.length, ...rows.map((row) => visible(row[i] ?? '').length)));
    const line = (cells: string[]) =>
      cells
        .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visible(cell).length)))
        .join('  ')
        .trimEnd();
    return [this.out.bold(line(columns)), ...rows.map(line)].join('\n');
  }

  /** `label   value` lines, labels aligned; rows without a value are left out. */
  fields(rows: [string, string | undefined][]): string {
    const shown = rows.filter((row): row is [string, string] => row[1] !== undefined && row[1] !== '');
    const width = Math.max(...shown.map(([label]) => label.length));
    return shown
      .map(([label, value]) => `${this.out.bold(label.padEnd(width))}  ${value.replace(/\n/g, `\n${' '.repeat(width + 2)}`)}`)
      .join('\n');
  }

  /** A status word in its colour: green when access is on, red for refusals and failures. */
  status(status: string, p: Painter = this.out): string {
    if (status === 'ACTIVE' || status === 'APPROVED') return p.green(status);
    if (status.startsWith('PENDING')) return p.yellow(status);
    if (['REJECTED', 'DENIED', 'FAILED', 'EXPIRED'].includes(status)) return p.red(status);
    return status;
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips the colour codes this module writes
const visible = (text: string) => text.replace(/\x1b\[\d+m/g, '');

/**
 * Progress of something that waits, on stderr: on a terminal one line rewritten in place; in a log
 * (not a terminal) a line only when the text changes, so CI logs stay short.
 */
export class Progress {
  private last = '';
  private lastKey = '';
  private readonly tty = process.stderr.isTTY === true;

  /** `key` says what counts as a change for a log (e.g. the status, not the seconds waited). */
  update(text: string, key = text): void {
    if (this.tty) process.stderr.write(`\r\x1b[2K${text}`);
    else if (key !== this.lastKey) process.stderr.write(`${text}\n`);
    this.last = text;
    this.lastKey = key;
  }

  done(): void {
    if (this.tty && this.last) process.stderr.write('\r\x1b[2K');
    this.last = '';
  }
}
