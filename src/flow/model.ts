import { z } from 'zod';
import { isoDuration } from '../duration.js';
import { LEVELS } from '../levels.js';

/** Kestra's flow-level schema (the task and trigger properties are checked by their own schemas). */

export const FLOW_ID = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/;
export const NAMESPACE = /^[a-z0-9][a-z0-9._-]*$/;
export const TASK_ID = /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/;
export const INPUT_ID = /^[a-zA-Z0-9][.a-zA-Z0-9_-]*$/;

export const INPUT_TYPES = [
  'STRING',
  'INT',
  'FLOAT',
  'BOOLEAN',
  'ARRAY',
  'JSON',
  'DATETIME',
  'DURATION',
  'SELECT',
  'SECRET',
  'DATE',
  'TIME',
] as const;

export const inputSchema = z.strictObject({
  id: z.string().regex(INPUT_ID, { error: `expected an id matching ${INPUT_ID}` }),
  type: z.enum(INPUT_TYPES),
  description: z.string().optional(),
  displayName: z.string().optional(),
  required: z.boolean().default(true),
  defaults: z.unknown().optional(),
  itemType: z.enum(INPUT_TYPES).optional(),
  values: z.array(z.string()).optional(),
  allowCustomValue: z.boolean().optional(),
});
export type InputDef = z.output<typeof inputSchema>;

/**
 * A flow-level output (Kestra ≥ 0.15, `io.kestra.core.models.flows.Output`): rendered when the
 * execution ends, converted to its type, and kept in the execution's `outputs`.
 */
export const outputSchema = z.strictObject({
  id: z.string().regex(INPUT_ID, { error: `expected an id matching ${INPUT_ID}` }),
  type: z.enum(INPUT_TYPES),
  value: z.unknown().refine((v) => v !== undefined && v !== null, { error: 'an output needs a value' }),
  description: z.string().optional(),
  displayName: z.string().optional(),
  required: z.boolean().optional(),
  itemType: z.enum(INPUT_TYPES).optional(),
});
export type OutputDef = z.output<typeof outputSchema>;

const duration = isoDuration();

export const retrySchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('constant'),
      interval: duration,
      maxAttempts: z.int().min(1).optional(),
      maxAttempt: z.int().min(1).optional(),
      maxDuration: duration.optional(),
      warningOnRetry: z.boolean().optional(),
    }),
    z.strictObject({
      type: z.literal('exponential'),
      interval: duration,
      maxInterval: duration,
      delayFactor: z.number().min(1).optional(),
      maxAttempts: z.int().min(1).optional(),
      maxAttempt: z.int().min(1).optional(),
      maxDuration: duration.optional(),
      warningOnRetry: z.boolean().optional(),
    }),
    z.strictObject({
      type: z.literal('random'),
      minInterval: duration,
      maxInterval: duration,
      maxAttempts: z.int().min(1).optional(),
      maxAttempt: z.int().min(1).optional(),
      maxDuration: duration.optional(),
      warningOnRetry: z.boolean().optional(),
    }),
  ],
  { error: 'expected retry type constant, exponential or random' },
);
export type RetryDef = z.output<typeof retrySchema>;

/** Keys every task accepts besides its own properties. */
export const taskCommonSchema = z.object({
  id: z
    .string()
    .regex(TASK_ID, { error: `expected an id matching ${TASK_ID} (letters, digits, _ and -; no dots)` }),
  type: z.string(),
  description: z.string().optional(),
  retry: retrySchema.optional(),
  timeout: duration.optional(),
  disabled: z.boolean().optional(),
  allowFailure: z.boolean().optional(),
  allowWarning: z.boolean().optional(),
  runIf: z.unknown().optional(),
  logLevel: z.enum(LEVELS).optional(),
  logToFile: z.boolean().optional(),
  workerGroup: z.unknown().optional(),
});
export const TASK_COMMON_KEYS = Object.keys(taskCommonSchema.shape);

/** Keys every trigger accepts besides its own properties. */
export const triggerCommonSchema = z.object({
  id: z
    .string()
    .regex(TASK_ID, { error: `expected a trigger id matching ${TASK_ID} (letters, digits, _ and -)` }),
  type: z.string(),
  description: z.string().optional(),
  conditions: z.array(z.unknown()).optional(),
  disabled: z.boolean().optional(),
  stopAfter: z.array(z.string()).optional(),
  logLevel: z.enum(LEVELS).optional(),
});
export const TRIGGER_COMMON_KEYS = Object.keys(triggerCommonSchema.shape);

const REVISION = 'expected a whole number from 1 to 2147483647 (a Java Integer, as in Kestra)';

export const flowSchema = z.strictObject({
  id: z
    .string()
    .min(1)
    .max(100)
    .regex(FLOW_ID, { error: `expected an id matching ${FLOW_ID}` }),
  namespace: z
    .string()
    .min(1)
    .max(150)
    .regex(NAMESPACE, { error: `expected lower-case letters, digits, . _ - (${NAMESPACE})` }),
  description: z.string().optional(),
  labels: z
    .union([
      z.record(z.string(), z.unknown()),
      z.array(z.strictObject({ key: z.string(), value: z.unknown() })),
    ])
    .optional(),
  inputs: z.array(z.unknown()).optional(),
  variables: z.record(z.string(), z.unknown()).optional(),
  tasks: z.array(z.unknown()).min(1, { error: 'a flow needs at least one task' }),
  triggers: z.array(z.unknown()).optional(),
  errors: z.array(z.unknown()).optional(),
  finally: z.array(z.unknown()).optional(),
  pluginDefaults: z
    .array(
      z.strictObject({
        type: z.string(),
        values: z.record(z.string(), z.unknown()),
        forced: z.boolean().optional(),
      }),
    )
    .optional(),
  disabled: z.boolean().optional(),
  concurrency: z.unknown().optional(),
  outputs: z.array(z.unknown()).optional(),
  // Kestra's Flow.revision: an Integer ≥ 1 (`2.0` loads as 2, as other whole settings do).
  revision: z
    .int({ error: REVISION })
    .min(1, { error: REVISION })
    .max(2147483647, { error: REVISION })
    .optional(),
  deleted: z.unknown().optional(),
  tenantId: z.unknown().optional(),
});
