/**
 * PromQL date functions (`year`, `month`, `day_of_month`, `day_of_year`, `day_of_week`,
 * `days_in_month`, `hour`, `minute`) of a Unix time in seconds, in UTC. Like Prometheus, the
 * value is truncated towards zero to whole seconds first (`time.Unix(int64(v), 0)`). Uses integer
 * civil-calendar arithmetic (proleptic Gregorian), so it works far outside `Date`'s range.
 * Non-finite inputs give NaN (Go's result there is an artefact of its float→int conversion).
 */

/** Broken-down UTC time. */
interface Civil {
  year: number;
  month: number; // 1..12
  day: number; // 1..31
  yday: number; // 1..366
  wday: number; // 0 = Sunday
  hour: number;
  minute: number;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

function civil(seconds: number): Civil | undefined {
  if (!Number.isFinite(seconds)) return undefined;
  const s = Math.trunc(seconds);
  const days = Math.floor(s / 86400);
  const secOfDay = s - days * 86400;
  // Howard Hinnant's days → civil date, eras of 400 years.
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const yday = DAYS_BEFORE_MONTH[month - 1]! + day + (month > 2 && isLeap(year) ? 1 : 0);
  const wday = (((days + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday.
  return { year, month, day, yday, wday, hour: Math.floor(secOfDay / 3600), minute: Math.floor((secOfDay % 3600) / 60) };
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A date function: Unix seconds → calendar field. */
export type DateKernel = (seconds: number) => number;

/** `year(v)`. */
export const year: DateKernel = (s) => civil(s)?.year ?? NaN;
/** `month(v)`: 1–12. */
export const month: DateKernel = (s) => civil(s)?.month ?? NaN;
/** `day_of_month(v)`: 1–31. */
export const dayOfMonth: DateKernel = (s) => civil(s)?.day ?? NaN;
/** `day_of_year(v)`: 1–365 (366 in leap years). */
export const dayOfYear: DateKernel = (s) => civil(s)?.yday ?? NaN;
/** `day_of_week(v)`: 0 (Sunday) – 6. */
export const dayOfWeek: DateKernel = (s) => civil(s)?.wday ?? NaN;
/** `hour(v)`: 0–23. */
export const hour: DateKernel = (s) => civil(s)?.hour ?? NaN;
/** `minute(v)`: 0–59. */
export const minute: DateKernel = (s) => civil(s)?.minute ?? NaN;
/** `days_in_month(v)`: 28–31. */
export const daysInMonth: DateKernel = (s) => {
  const c = civil(s);
  if (!c) return NaN;
  return c.month === 2 && isLeap(c.year) ? 29 : MONTH_DAYS[c.month - 1]!;
};

/** The date kernels by PromQL name. Without an argument, PromQL applies them to `time()`. */
export const DATE_KERNELS: Readonly<Record<string, DateKernel>> = {
  year,
  month,
  day_of_month: dayOfMonth,
  day_of_year: dayOfYear,
  day_of_week: dayOfWeek,
  hour,
  minute,
  days_in_month: daysInMonth,
};
