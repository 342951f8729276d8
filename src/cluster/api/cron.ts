/**
 * Cron schedules as CronJobs read them (robfig/cron's standard parser, which Kubernetes
 * uses): five fields (minute hour day-of-month month day-of-week) with `*`, `?`, ranges,
 * steps, lists and month/day names, or the macros @yearly @annually @monthly @weekly @daily
 * @midnight @hourly. When both day fields are restricted a day matching either runs, as in
 * Vixie cron. Times are computed in an IANA time zone (spec.timeZone; default the server's
 * local zone is UTC here) through Intl, so daylight-saving days are handled by the zone.
 */
import { invalidArgument } from '../../core/errors.js';

export interface Schedule {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** Day-of-month / day-of-week given as `*` (then only the other one restricts). */
  anyDay: boolean;
  anyWeekday: boolean;
}

const macros: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const monthNames = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const dayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function field(
  text: string,
  min: number,
  max: number,
  names: string[] | undefined,
  what: string,
): Set<number> {
  const out = new Set<number>();
  const num = (s: string): number => {
    const i = names?.indexOf(s.toLowerCase()) ?? -1;
    if (i >= 0) return i + (names === monthNames ? 1 : 0);
    if (!/^\d+$/.test(s)) throw invalidArgument(`Invalid ${what} "${s}" in the schedule`);
    return Number(s);
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw invalidArgument(`Invalid step "${stepText}" in the schedule`);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      lo = min;
      hi = max;
    } else if (range!.includes('-')) {
      const [a, b] = range!.split('-');
      lo = num(a!);
      hi = num(b!);
    } else {
      lo = num(range!);
      hi = stepText === undefined ? lo : max;
    }
    if (lo < min || hi > max || lo > hi)
      throw invalidArgument(`Invalid ${what} range "${range}" in the schedule: allowed ${min}-${max}`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** Parses a schedule; throws an InvalidArgument naming the bad part. */
export function parseSchedule(text: string): Schedule {
  const t = text.trim();
  if (/^(CRON_)?TZ=/.test(t))
    throw invalidArgument(
      `Invalid schedule "${text}": set the time zone with spec.timeZone, not TZ= in the schedule`,
    );
  const expanded = macros[t.toLowerCase()] ?? t;
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5)
    throw invalidArgument(
      `Invalid schedule "${text}": expected 5 fields (minute hour day month weekday), got ${parts.length}`,
    );
  const [mi, h, d, mo, w] = parts as [string, string, string, string, string];
  const weekdays = field(w, 0, 7, dayNames, 'day of week');
  if (weekdays.has(7)) {
    weekdays.delete(7);
    weekdays.add(0);
  }
  return {
    minutes: field(mi, 0, 59, undefined, 'minute'),
    hours: field(h, 0, 23, undefined, 'hour'),
    days: field(d, 1, 31, undefined, 'day of month'),
    months: field(mo, 1, 12, monthNames, 'month'),
    weekdays,
    anyDay: d === '*' || d === '?',
    anyWeekday: w === '*' || w === '?',
  };
}

/** Checks an IANA zone name; throws InvalidArgument for an unknown one. */
export function checkTimeZone(zone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw invalidArgument(`Invalid time zone "${zone}": not an IANA time zone name`);
  }
}

interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  wd: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function wallClock(ms: number, zone: string): Wall {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    formatters.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(ms).map((x) => [x.type, x.value]));
  return {
    y: Number(p.year),
    mo: Number(p.month),
    d: Number(p.day),
    h: Number(p.hour),
    mi: Number(p.minute),
    wd: dayNames.indexOf(String(p.weekday).slice(0, 3).toLowerCase()),
  };
}

function dayMatches(s: Schedule, w: Wall): boolean {
  const dom = s.days.has(w.d);
  const dow = s.weekdays.has(w.wd);
  if (s.anyDay && s.anyWeekday) return true;
  if (s.anyDay) return dow;
  if (s.anyWeekday) return dom;
  return dom || dow;
}

/**
 * The first scheduled time strictly after `afterMs` (ms since the epoch), or undefined if
 * none within about five years (a schedule like 30 February). Walks forward skipping whole
 * days and hours that cannot match, so sparse schedules cost little.
 */
export function nextTime(s: Schedule, afterMs: number, zone = 'UTC'): number | undefined {
  let t = Math.floor(afterMs / 60_000) * 60_000 + 60_000;
  const limit = afterMs + 5 * 366 * 86_400_000;
  while (t <= limit) {
    const w = wallClock(t, zone);
    if (!s.months.has(w.mo) || !dayMatches(s, w)) {
      // To the next local midnight (a DST day may land an hour off; the loop looks again).
      t += Math.max(1, (24 - w.h) * 60 - w.mi) * 60_000;
      continue;
    }
    if (!s.hours.has(w.h)) {
      t += (60 - w.mi) * 60_000;
      continue;
    }
    if (!s.minutes.has(w.mi)) {
      t += 60_000;
      continue;
    }
    return t;
  }
  return undefined;
}
