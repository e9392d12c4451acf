import { z } from 'zod';
import { DEPRECATED_TYPES, TASKS, TRIGGERS } from '../tasks/index.js';
import type { TaskDefinition } from '../tasks/task.js';
import { FLOW_ID, INPUT_TYPES, NAMESPACE, retrySchema, TASK_ID } from './model.js';

type Json = Record<string, unknown>;

const expression = {
  type: 'string',
  pattern: '\\{\\{.*\\}\\}',
  description: 'A Pebble expression, rendered at run time.',
};

/** A property's schema, also accepting an expression where the property is not already a string. */
function orExpression(schema: Json): Json {
  return schema.type === 'string' ? schema : { anyOf: [schema, expression], description: schema.description };
}

function definitionSchema(def: TaskDefinition, commonProps: Json): Json {
  const own = z.toJSONSchema(def.props, { io: 'input', unrepresentable: 'any' }) as Json;
  const props = Object.fromEntries(
    Object.entries((own.properties ?? {}) as Record<string, Json>).map(([k, v]) => [k, orExpression(v)]),
  );
  return {
    type: 'object',
    title: def.title,
    description: def.description,
    properties: { ...commonProps, type: { const: def.type }, ...props },
    required: ['id', 'type', ...((own.required as string[]) ?? [])],
    additionalProperties: false,
  };
}

/** JSON Schema of a flow file, every task and trigger type's properties included. */
export function flowJsonSchema(): Json {
  const taskCommon: Json = {
    id: { type: 'string', pattern: TASK_ID.source },
    description: { type: 'string' },
    retry: z.toJSONSchema(retrySchema, { io: 'input' }),
    timeout: { type: 'string', description: 'ISO-8601 duration, e.g. PT5M' },
    disabled: { type: 'boolean' },
    allowFailure: { type: 'boolean' },
    allowWarning: { type: 'boolean' },
    runIf: { type: 'string' },
    logLevel: { enum: ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] },
  };
  const triggerCommon: Json = {
    id: { type: 'string', pattern: TASK_ID.source },
    description: { type: 'string' },
    disabled: { type: 'boolean' },
    stopAfter: { type: 'array', items: { type: 'string' } },
    conditions: { type: 'array' },
  };
  const task = { anyOf: Object.values(TASKS).map((d) => ({ $ref: `#/$defs/${d.type}` })) };
  const defs: Json = Object.fromEntries(
    Object.values(TASKS).map((d) => [d.type, definitionSchema(d, taskCommon)]),
  );
  const ifDef = defs['io.kestra.plugin.core.flow.If'] as { properties: Json };
  // `then` is Kestra's property name (not a thenable).
  ifDef.properties.then = { type: 'array', items: { $ref: '#/$defs/task' } };
  ifDef.properties.else = { type: 'array', items: { $ref: '#/$defs/task' } };
  for (const [old, current] of Object.entries(DEPRECATED_TYPES)) {
    const def = defs[current] as { properties: Json };
    defs[old] = {
      ...def,
      deprecationMessage: `Deprecated: use ${current}`,
      properties: { ...def.properties, type: { const: old } },
    };
    task.anyOf.push({ $ref: `#/$defs/${old}` });
  }
  for (const d of Object.values(TRIGGERS)) defs[d.type] = definitionSchema(d, triggerCommon);
  defs.task = task;
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Kestra flow (kestra-plugin-fastly)',
    type: 'object',
    required: ['id', 'namespace', 'tasks'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', pattern: FLOW_ID.source, maxLength: 100 },
      namespace: { type: 'string', pattern: NAMESPACE.source, maxLength: 150 },
      description: { type: 'string' },
      labels: { anyOf: [{ type: 'object' }, { type: 'array' }] },
      inputs: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'type'],
          properties: {
            id: { type: 'string' },
            type: { enum: [...INPUT_TYPES] },
            description: { type: 'string' },
            required: { type: 'boolean' },
            defaults: {},
            itemType: { enum: [...INPUT_TYPES] },
            values: { type: 'array', items: { type: 'string' } },
          },
        },
      },
      variables: { type: 'object' },
      tasks: { type: 'array', minItems: 1, items: { $ref: '#/$defs/task' } },
      errors: { type: 'array', items: { $ref: '#/$defs/task' } },
      finally: { type: 'array', items: { $ref: '#/$defs/task' } },
      triggers: {
        type: 'array',
        items: { anyOf: Object.values(TRIGGERS).map((d) => ({ $ref: `#/$defs/${d.type}` })) },
      },
      pluginDefaults: { type: 'array' },
      disabled: { type: 'boolean' },
      concurrency: {},
      outputs: {},
    },
    $defs: defs,
  };
}
