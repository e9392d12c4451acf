import { InvalidInputError } from '../errors.js';

/** Where in a template: 1-based line and column. */
export interface Position {
  line: number;
  col: number;
}

/**
 * A template that cannot be compiled (`syntax`), a name or attribute that does not exist under
 * strictVariables (`undefined`, Pebble's AttributeNotFoundException), or a failure while rendering.
 */
export class PebbleError extends InvalidInputError {
  override readonly name: string = 'PebbleError';
  override readonly code: 'PEBBLE_SYNTAX' | 'PEBBLE_UNDEFINED' | 'PEBBLE_RUNTIME';
  constructor(
    readonly kind: 'syntax' | 'undefined' | 'runtime',
    /** The message without its position. */
    readonly detail: string,
    readonly position: Position | undefined,
    /** For `undefined`: the name or attribute that was not found. */
    readonly missing?: string,
    options?: ErrorOptions,
  ) {
    super(
      position ? `${detail} (line ${position.line}, column ${position.col})` : detail,
      undefined,
      options,
    );
    this.code =
      kind === 'syntax' ? 'PEBBLE_SYNTAX' : kind === 'undefined' ? 'PEBBLE_UNDEFINED' : 'PEBBLE_RUNTIME';
  }
}
