// Text for numbers, sizes, durations and times, as every view shows them.

/** A float as the store sends it: a number, or "nan" / "inf" / "-inf" (JSON has no NaN). */
export function wireFloat(v: number | string | null | undefined): number {
  if (typeof v === 'number') return v;
  if (v == null) return Number.NaN;
  switch (v.toLowerCase()) {
    case 'nan':
      return Number.NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
      return Number.POSITIVE_INFINITY;
    case '-inf':
    case '-infinity':
      return Number.NEGATIVE_INFINITY;
    default: {
      const n = Number(v);
      return Number.isNaN(n) ? Number.NaN : n;
    }
  }
}

/**
 * A number in at most `digits` significant digits: integers as they are (with
 * thousands separators), very large or small magnitudes in exponent form,
 * non-finite values as NaN / +Inf / -Inf, a missing one as an em dash.
 */
export function formatNumber(v: number | string | null | undefined, digits = 4): string {
  if (v == null) return '—';
  const n = wireFloat(v);
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  if (n === 0) return '0';
  const abs = Math.abs(n);
  if (Number.isInteger(n) && abs < 1e15) return formatCount(n);
  if (abs >= 1e6 || abs < 1e-3) {
    return n.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, 'e');
  }
  const s = n.toPrecision(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** An integer with thin grouping (1,234,567). */
export function formatCount(n: number): string {
  const sign = n < 0 ? '-' : '';
  const digits = Math.round(Math.abs(n)).toString();
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** A byte count in binary units: 512 B, 1.5 KiB, 12.3 MiB. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes)) return '—';
  let v = Math.abs(bytes);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u += 1;
  }
  const sign = bytes < 0 ? '-' : '';
  if (u === 0) return `${sign}${v} B`;
  return `${sign}${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${UNITS[u]}`;
}

/** Seconds as a short duration: 850 ms, 12.3 s, 4m 05s, 2h 03m, 3d 04h. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, seconds);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.floor(s).toString()} s`;
  const pad = (n: number) => n.toString().padStart(2, '0');
  const total = Math.floor(s);
  if (total < 3600) return `${Math.floor(total / 60)}m ${pad(total % 60)}s`;
  if (total < 86400) return `${Math.floor(total / 3600)}h ${pad(Math.floor((total % 3600) / 60))}m`;
  return `${Math.floor(total / 86400)}d ${pad(Math.floor((total % 86400) / 3600))}h`;
}

/** Unix seconds as local "YYYY-MM-DD HH:MM" (with ":SS" when `seconds`). */
export function formatTime(unixSeconds: number | null | undefined, seconds = false, zone = true): string {
  if (unixSeconds == null || !Number.isFinite(unixSeconds)) return '—';
  const d = new Date(unixSeconds * 1000);
  const pad = (n: number) => n.toString().padStart(2, '0');
  const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ''}`;
  return zone ? `${date} ${time} ${zoneName(d)}` : `${date} ${time}`;
}

/** The local time zone at `d` as people write it (`CET`, `UTC`, `GMT+1`); the offset (`+01:00`) where Intl has no name. */
export function zoneName(d: Date): string {
  try {
    const part = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName');
    if (part?.value) return part.value;
  } catch {
    // No Intl time zones: the offset below.
  }
  const off = -d.getTimezoneOffset();
  const abs = Math.abs(off);
  return `${off < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** An array shape as 3×4×5; a scalar shape as (). */
export function formatShape(shape: readonly number[] | null | undefined): string {
  if (shape == null) return '';
  if (shape.length === 0) return '()';
  return shape.join('×');
}

/** Text cut to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}
