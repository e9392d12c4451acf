/** SQL pieces both execution stores (SQLite and PostgreSQL) write the same way. */
import { parseJson, writeJson } from '../pebble/java.js';
import {
  type Condition,
  OPEN_STATES,
  type SortField,
  type StoredExecution,
  type Submission,
} from './store.js';

/** States of an execution that has not ended, as an SQL list. */
export const OPEN = `(${OPEN_STATES.map((s) => `'${s}'`).join(', ')})`;

/** Kestra's sort fields as columns. */
export const SORT_COLUMNS: Record<SortField, string> = {
  id: 'id',
  namespace: 'namespace',
  flowId: 'flow_id',
  'state.current': 'state',
  'state.startDate': 'start_date',
  'state.endDate': 'end_date',
  'state.duration': 'duration_ms',
};

/** A LIKE pattern matching `text` literally (`\` escapes). */
export const literal = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** How a store writes a parameter and finds a text in another (SQLite's `instr`, PostgreSQL's `strpos`). */
export interface Dialect {
  /** Adds a parameter; returns its placeholder. */
  arg(value: unknown): string;
  /** The 1-based position of `needle` in `haystack` (SQL expressions), 0 when absent. */
  position(haystack: string, needle: string): string;
}

const CONDITION_COLUMNS = {
  namespace: 'namespace',
  flowId: 'flow_id',
  state: 'state',
  startDate: 'start_date',
  endDate: 'end_date',
} as const;

const COMPARE = {
  EQUALS: '=',
  NOT_EQUALS: '<>',
  GREATER_THAN: '>',
  GREATER_THAN_OR_EQUAL_TO: '>=',
  LESS_THAN: '<',
  LESS_THAN_OR_EQUAL_TO: '<=',
} as const;

/**
 * A query filter as an SQL condition. Without LIKE: SQLite's ignores ASCII case and PostgreSQL's
 * does not, and the two stores must find the same executions.
 */
export function conditionSql(c: Condition, d: Dialect): string {
  if (c.field === 'text') {
    const found = ['id', 'namespace', 'flow_id']
      .map((col) => `${d.position(`LOWER(${col})`, d.arg(c.value.toLowerCase()))} > 0`)
      .join(' OR ');
    return c.negate ? `NOT (${found})` : `(${found})`;
  }
  if (!('values' in c)) return `${CONDITION_COLUMNS[c.field]} ${COMPARE[c.op]} ${d.arg(c.value)}`;
  const col = CONDITION_COLUMNS[c.field];
  const list = () => c.values.map((v) => d.arg(v)).join(', ');
  const [value = ''] = c.values;
  switch (c.op) {
    case 'EQUALS':
      return `${col} = ${d.arg(value)}`;
    case 'NOT_EQUALS':
      return `${col} <> ${d.arg(value)}`;
    case 'IN':
      return c.values.length ? `${col} IN (${list()})` : 'FALSE';
    case 'NOT_IN':
      return c.values.length ? `${col} NOT IN (${list()})` : 'TRUE';
    case 'CONTAINS':
      return `${d.position(col, d.arg(value))} > 0`;
    case 'STARTS_WITH':
      return `${d.position(col, d.arg(value))} = 1`;
    case 'ENDS_WITH':
      // A negative start counts from the end in SQLite: the value is read at most length(col) back.
      return `SUBSTR(${col}, LENGTH(${col}) - LENGTH(${d.arg(value)}) + 1) = ${d.arg(value)}`;
    case 'PREFIX':
      return `(${col} = ${d.arg(value)} OR ${d.position(col, d.arg(`${value}.`))} = 1)`;
  }
}

/**
 * One transition of an execution's `state.histories` as SQL text, from two SQL expressions (a state
 * and an ISO date: neither needs escaping in JSON).
 */
const entry = (state: string, date: string) =>
  `'{"state":"' || CAST(${state} AS TEXT) || '","date":"' || CAST(${date} AS TEXT) || '"}'`;

/** A new execution's `histories` column: CREATED at `date` (an SQL expression). */
export const createdHistory = (date: string) => `'[' || ${entry("'CREATED'", date)} || ']'`;

/** A new execution started as it is written: CREATED then RUNNING, both at `date`. */
export const startedHistory = (date: string) =>
  `'[' || ${entry("'CREATED'", date)} || ',' || ${entry("'RUNNING'", date)} || ']'`;

/**
 * `histories` with one more transition, written in the statement that changes the state. A row from
 * before the column (NULL) stays NULL: its history is made from its dates, as before.
 */
export const appendHistory = (state: string, date: string) =>
  `substr(histories, 1, length(histories) - 1) || ',' || ${entry(state, date)} || ']'`;

/** A row of `executions` as either driver gives it (PostgreSQL gives BIGINT columns as text). */
export interface Row {
  id: string;
  namespace: string;
  flow_id: string;
  state: string;
  trigger_id: string | null;
  trigger_type: string | null;
  created_at: string;
  start_date: string | null;
  end_date: string | null;
  duration_ms: number | string | null;
  error: string | null;
  outputs_bytes: number | string | null;
  inputs: string;
  trigger_vars: string | null;
  labels: string | null;
  histories: string | null;
}

/** The columns of `Row`, for SELECT. */
export const COLUMNS =
  'id, namespace, flow_id, state, trigger_id, trigger_type, created_at, start_date, end_date, duration_ms, error, outputs_bytes, inputs, trigger_vars, labels, histories';

export function fromRow(r: Row): StoredExecution {
  return {
    id: r.id,
    namespace: r.namespace,
    flowId: r.flow_id,
    state: r.state,
    ...(r.trigger_id ? { triggerId: r.trigger_id } : {}),
    ...(r.trigger_type ? { triggerType: r.trigger_type } : {}),
    createdAt: r.created_at,
    inputs: parseJson(r.inputs) as Record<string, unknown>,
    ...(r.trigger_vars ? { trigger: parseJson(r.trigger_vars) as Record<string, unknown> } : {}),
    ...(r.start_date ? { startDate: r.start_date } : {}),
    ...(r.end_date ? { endDate: r.end_date } : {}),
    ...(r.duration_ms !== null ? { durationMs: Number(r.duration_ms) } : {}),
    ...(r.error ? { error: r.error } : {}),
    ...(r.outputs_bytes !== null ? { outputsBytes: Number(r.outputs_bytes) } : {}),
    ...(r.labels ? { labels: JSON.parse(r.labels) as StoredExecution['labels'] } : {}),
    ...(r.histories ? { histories: JSON.parse(r.histories) as StoredExecution['histories'] } : {}),
  };
}

/** A submission's columns of `executions`, from id to labels, as both stores write them. */
export type Values = [id: string, ...rest: (string | null)[]];

export function submissionValues(s: Submission): Values {
  return [
    s.id,
    s.namespace,
    s.flowId,
    s.triggerId ?? null,
    s.triggerType ?? null,
    s.createdAt,
    writeJson(s.inputs),
    s.trigger ? writeJson(s.trigger) : null,
    s.labels?.length ? JSON.stringify(s.labels) : null,
  ];
}
