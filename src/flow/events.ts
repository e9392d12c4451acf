import { channel } from 'node:diagnostics_channel';
import type { Level } from '../logger.js';

/** One evaluation of a trigger by the server. */
export interface TriggerEvaluationEvent {
  /** `namespace.flowId.triggerId` */
  key: string;
  namespace: string;
  flowId: string;
  triggerId: string;
  field: string;
  threshold: number;
  /** Epoch ms. */
  time: number;
  value?: number | null | undefined;
  matched?: boolean | undefined;
  fired: boolean;
  executionId?: string | undefined;
  /** Masked. */
  error?: string | undefined;
}

/** An execution starting or ending (any way it was started: trigger, run, API). */
export interface ExecutionEvent {
  phase: 'started' | 'ended';
  id: string;
  namespace: string;
  flowId: string;
  state?: string | undefined;
  durationMs?: number | undefined;
}

/** A log line of an execution, already masked. */
export interface LogEvent {
  time: string;
  level: Level;
  message: string;
  fields: Record<string, string>;
}

/**
 * What the server's metrics and dashboard observe. Diagnostics channels cost nothing without
 * subscribers, and let the flow layer publish without knowing who listens.
 */
export const triggerEvaluations = channel('kestra-fastly:trigger-evaluation');
export const executionEvents = channel('kestra-fastly:execution');
export const logEvents = channel('kestra-fastly:log');
