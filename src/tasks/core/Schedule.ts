import { Cron } from 'croner';
import { DateTime } from 'luxon';
import { durationMs, isoDuration } from '../../duration.js';
import { z } from 'zod';
import { defineTask } from '../task.js';

export const RECOVER = ['ALL', 'LAST', 'NONE'] as const;
export type Recover = (typeof RECOVER)[number];

const fields = (cron: string) => cron.trim().split(/\s+/).length;

/** Kestra's cron: 5 fields, 6 with `withSeconds: true`, or a nickname such as @daily. */
function cronProblem(cron: string, withSeconds: boolean, timezone?: string): string | undefined {
  const n = fields(cron);
  if (!cron.trim().startsWith('@')) {
    if (n === 6 && !withSeconds)
      return 'has 6 fields; a cron with seconds needs withSeconds: true (as in Kestra)';
    if (n !== (withSeconds ? 6 : 5))
      return `has ${n} fields; expected ${withSeconds ? '6 (second minute hour day month weekday)' : '5 (minute hour day month weekday)'}`;
  }
  try {
    new Cron(cron, {
      paused: true,
      ...(timezone ? { timezone } : {}),
      mode: withSeconds ? '6-part' : '5-part',
    });
    return undefined;
  } catch (err) {
    return `not a valid cron expression (${(err as Error).message})`;
  }
}

const validZone = (tz: string) => DateTime.now().setZone(tz).isValid;

export const scheduleProps = z
  .strictObject({
    cron: z
      .string()
      .describe('When to run: a cron expression (5 fields, 6 with withSeconds) or @hourly, @daily…'),
    withSeconds: z.boolean().default(false).describe('The cron has a leading seconds field.'),
    timezone: z
      .string()
      .optional()
      .refine((tz) => tz === undefined || validZone(tz), {
        error: 'expected an IANA time zone such as Europe/Paris or UTC',
      })
      .describe("Time zone the cron is read in; default the server's."),
    inputs: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Inputs of each execution; may use {{ trigger.date }}.'),
    lateMaximumDelay: isoDuration()
      .optional()
      .describe('A slot later than this (the server was busy or down) is skipped instead of run.'),
    recoverMissedSchedules: z
      .enum(RECOVER)
      .default('ALL')
      .describe(
        'Slots missed while the server was down: ALL run one execution each, LAST only the newest, NONE none.',
      ),
  })
  .superRefine((p, ctx) => {
    const problem = cronProblem(
      p.cron,
      p.withSeconds,
      p.timezone && validZone(p.timezone) ? p.timezone : undefined,
    );
    if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: problem });
  });

export type ScheduleProps = z.output<typeof scheduleProps>;

const cronOf = (p: ScheduleProps) =>
  new Cron(p.cron, {
    paused: true,
    ...(p.timezone ? { timezone: p.timezone } : {}),
    mode: p.withSeconds ? '6-part' : '5-part',
  });

/** Slots in (afterMs, upToMs], oldest first, at most `limit` (the newest ones past it are dropped). */
export function slotsBetween(p: ScheduleProps, afterMs: number, upToMs: number, limit = 10_000): number[] {
  const cron = cronOf(p);
  const out: number[] = [];
  let cursor = new Date(afterMs);
  while (out.length < limit) {
    const next = cron.nextRun(cursor);
    if (!next || next.getTime() > upToMs) break;
    out.push(next.getTime());
    cursor = next;
  }
  return out;
}

/** The newest slot at or before `atMs` (undefined when none within a year). */
export function slotAtOrBefore(p: ScheduleProps, atMs: number): number | undefined {
  const prev = cronOf(p).previousRuns(1, new Date(atMs + 1))[0];
  return prev ? prev.getTime() : undefined;
}

export function nextSlot(p: ScheduleProps, afterMs: number): number | undefined {
  return cronOf(p).nextRun(new Date(afterMs))?.getTime();
}

/** Slots still worth running at `nowMs`: those not later than `lateMaximumDelay`. */
export function notTooLate(p: ScheduleProps, slots: number[], nowMs: number): number[] {
  if (!p.lateMaximumDelay) return slots;
  const max = durationMs(p.lateMaximumDelay) ?? Infinity;
  return slots.filter((slot) => nowMs - slot <= max);
}

/**
 * Which of the slots missed while the server was down run, as `recoverMissedSchedules` says.
 * `missed` is oldest first.
 */
export function recoverable(policy: Recover, missed: number[]): number[] {
  if (policy === 'NONE') return [];
  if (policy === 'LAST') return missed.slice(-1);
  return missed;
}

/** `trigger.*` of an execution started for a slot, in the schedule's time zone. */
export function slotVariables(p: ScheduleProps, slotMs: number): Record<string, unknown> {
  const zone = p.timezone ?? 'system';
  const at = (ms: number | undefined) =>
    ms === undefined ? null : DateTime.fromMillis(ms, { zone }).toISO();
  const prev = slotAtOrBefore(p, slotMs - 1);
  return { date: at(slotMs), next: at(nextSlot(p, slotMs)), previous: at(prev) };
}

export const Schedule = defineTask({
  type: 'io.kestra.plugin.core.trigger.Schedule',
  title: 'Run a flow on a cron schedule.',
  description:
    'Starts an execution at each cron slot, with `{{ trigger.date }}`, `trigger.next` and `trigger.previous`. Slots missed while the server was down are run as `recoverMissedSchedules` says (default ALL, as Kestra).',
  examples: [
    {
      title: 'The daily stats report at 06:00 Paris time',
      flow: `id: fastly_daily_stats
namespace: company.analytics
triggers:
  - id: every_morning
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 6 * * *"
    timezone: Europe/Paris
    recoverMissedSchedules: LAST
tasks:
  - id: fetch_stats
    type: io.kestra.plugin.fastly.stats.Stats
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: "{{ secret('FASTLY_SERVICE_ID') }}"
    from: "24 hours ago"
    by: hour
`,
    },
  ],
  props: scheduleProps,
  outputs: {},
  // The server fires schedules; as a task there is nothing to do.
  run() {
    return {};
  },
});
