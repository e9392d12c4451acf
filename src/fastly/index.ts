export * from './client.js';
export * from './errors.js';
export * from './fields.js';
export * from './purge.js';
export * from './stats.js';
export * from './time.js';
export * from './types.js';
export * from './verify.js';
