/**
 * Structured logging: one JSON object per line on stderr (or a sink a test installs), with
 * a level threshold taken from BERTH_LOG_LEVEL (debug, info, warn, error; default warn for
 * the CLI so commands stay quiet, info for servers that call setLogLevel).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: LogLevel = parseLevel(process.env.BERTH_LOG_LEVEL) ?? 'warn';
let sink: (line: string) => void = (line) => process.stderr.write(`${line}\n`);

function parseLevel(s: string | undefined): LogLevel | undefined {
  return s && s in rank ? (s as LogLevel) : undefined;
}

/** The current threshold (handed to worker threads, whose module state starts fresh). */
export function logLevel(): LogLevel {
  return threshold;
}

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

/** Replaces where log lines go; returns the previous sink so tests can restore it. */
export function setLogSink(next: (line: string) => void): (line: string) => void {
  const prev = sink;
  sink = next;
  return prev;
}

/** A logger bound to a component name and fixed fields. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  with(fields: Record<string, unknown>): Logger;
}

export function logger(component: string, base: Record<string, unknown> = {}): Logger {
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (rank[level] < rank[threshold]) return;
    const rec: Record<string, unknown> = { time: new Date().toISOString(), level, component, msg, ...base };
    if (fields) {
      for (const [k, v] of Object.entries(fields)) rec[k] = v instanceof Error ? v.message : v;
    }
    sink(JSON.stringify(rec));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    with: (f) => logger(component, { ...base, ...f }),
  };
}
