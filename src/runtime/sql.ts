/** SQL pieces both execution stores (SQLite and PostgreSQL) write the same way. */
import { OPEN_STATES, type SortField } from './store.js';

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
