/**
 * Local mode prints the functions' logs and metrics readably. The handlers log through Powertools
 * exactly as on AWS; local mode sets `POWERTOOLS_DEV=true`, so Powertools writes to the global
 * `console`, and this turns each of its JSON lines into one compact line:
 *
 *   10:21:03.512 INFO  api-requests  [1f0c9a2e] answered callerKind=api requestId=req-… statusCode=200
 *   10:21:03.514 METRIC Decisions=1 stage=manager decision=APPROVE
 *
 * Anything else printed goes through untouched.
 */
type Line = Record<string, unknown>;

/** Keys every Powertools line carries that the compact line shows in its own columns, or not at all. */
const HIDDEN = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'function_name',
  'function_arn',
  'function_memory_size',
  'function_request_id',
  'cold_start',
  'sampling_rate',
  'xray_trace_id',
]);

const value = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const fields = (line: Line, hidden: Set<string>) =>
  Object.entries(line)
    .filter(([key, v]) => !hidden.has(key) && v !== undefined)
    .map(([key, v]) => `${key}=${value(v)}`)
    .join(' ');
const shortName = (name: unknown) => (typeof name === 'string' ? name.replace(/^lockbox-/, '') : '-');
const clock = (at: unknown) => (typeof at === 'string' ? at.slice(11, 23) : new Date().toISOString().slice(11, 23));

/** One compact line for a Powertools log or metric line, or undefined for anything else. */
function compact(text: string): string | undefined {
  if (!text.startsWith('{')) return undefined;
  let line: Line;
  try {
    line = JSON.parse(text) as Line;
  } catch {
    return undefined;
  }
  const emf = line._aws as
    | { Timestamp?: number; CloudWatchMetrics?: { Metrics?: { Name: string }[]; Dimensions?: string[][] }[] }
    | undefined;
  if (emf?.CloudWatchMetrics) {
    const metrics = emf.CloudWatchMetrics.flatMap((group) => group.Metrics ?? []).map(
      (metric) => `${metric.Name}=${value(line[metric.Name])}`,
    );
    const dimensions = emf.CloudWatchMetrics.flatMap((group) => group.Dimensions ?? [])
      .flat()
      .filter((name) => name !== 'service');
    const at = emf.Timestamp ? new Date(emf.Timestamp).toISOString() : undefined;
    return [clock(at), 'METRIC', ...metrics, ...dimensions.map((name) => `${name}=${value(line[name])}`)].join(' ');
  }
  if (typeof line.level !== 'string' || typeof line.message !== 'string' || !('timestamp' in line)) return undefined;
  const rest = fields(line, HIDDEN);
  // The Lambda request id, shortened: enough to tell one invocation's lines from another's.
  const invocation = typeof line.function_request_id === 'string' ? `[${line.function_request_id.slice(0, 8)}]` : '';
  return [clock(line.timestamp), line.level.padEnd(5), shortName(line.function_name).padEnd(13), invocation, line.message, rest]
    .filter(Boolean)
    .join(' ')
    .trimEnd();
}

let installed = false;

/** Rewrites Powertools lines on the global console, once per process. */
export function installReadableLogs(): void {
  if (installed) return;
  installed = true;
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      const readable = args.length === 1 && typeof args[0] === 'string' ? compact(args[0]) : undefined;
      if (readable === undefined) original(...args);
      else original(readable);
    };
  }
}
