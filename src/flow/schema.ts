import { z } from 'zod';
import { DEPRECATED_TYPES, TASKS, TRIGGERS } from '../tasks/index.js';
import type { TaskDefinition } from '../tasks/task.js';
import { flowSchema, inputSchema, taskCommonSchema, triggerCommonSchema } from './model.js';

/**
 * The JSON Schema of a flow file, generated from the zod schemas the loader validates with
 * (flow keys, inputs, task and trigger common keys, each type's properties): one source, so the
 * editor and the loader cannot disagree.
 */

type Json = Record<string, unknown>;

function toJson(schema: z.ZodType): Json {
  const { $schema: _, ...json } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-7',
  }) as Json;
  return json;
}

const properties = (schema: z.ZodType) => (toJson(schema).properties ?? {}) as Record<string, Json>;

const expression: Json = {
  type: 'string',
  pattern: '\\{\\{.*\\}\\}',
  description: 'A Pebble expression, rendered at run time.',
};

/** A property's schema, also accepting an expression where the property is not already a string. */
function orExpression(schema: Json): Json {
  return schema.type === 'string' ? schema : { anyOf: [schema, expression], description: schema.description };
}

const ref = (name: string): Json => ({ $ref: `#/$defs/${name}` });

function definitionSchema(def: TaskDefinition, common: Record<string, Json>): Json {
  const own = toJson(def.props);
  const props = Object.entries((own.properties ?? {}) as Record<string, Json>).map(([k, v]) => [
    k,
    orExpression(v),
  ]);
  return {
    type: 'object',
    title: def.title,
    description: def.description,
    properties: { ...common, type: { const: def.type }, ...Object.fromEntries(props) },
    required: ['id', 'type', ...((own.required as string[] | undefined) ?? [])],
    additionalProperties: false,
  };
}

/** JSON Schema of a flow file, every task and trigger type's properties included. */
export function flowJsonSchema(): Json {
  const taskCommon = properties(taskCommonSchema);
  const triggerCommon = properties(triggerCommonSchema);
  const defs: Record<string, Json> = {};
  for (const d of Object.values(TASKS)) defs[d.type] = definitionSchema(d, taskCommon);
  for (const d of Object.values(TRIGGERS)) defs[d.type] = definitionSchema(d, triggerCommon);
  // A flowable's nested tasks (If's `then`, ForEach's `tasks`) are tasks of any type.
  for (const d of Object.values(TASKS)) {
    const props = defs[d.type]?.properties as Record<string, Json>;
    for (const { property } of d.children ?? [])
      props[property] = {
        type: 'array',
        minItems: 1,
        items: ref('task'),
        ...(props[property]?.description ? { description: props[property].description } : {}),
      };
  }
  // Older type names the loader still accepts (the Java plugin's): each a copy under its own name.
  for (const [alias, type] of Object.entries(DEPRECATED_TYPES)) {
    const def = defs[type] as { properties: Record<string, Json>; description?: string };
    defs[alias] = {
      ...def,
      description: `Deprecated: the older name of ${type}. ${def.description ?? ''}`.trim(),
      properties: { ...def.properties, type: { const: alias } },
    };
  }
  defs.task = {
    anyOf: [...Object.values(TASKS).map((d) => d.type), ...Object.keys(DEPRECATED_TYPES)].map(ref),
  };

  const flow = toJson(flowSchema);
  const flowProps = flow.properties as Record<string, Json>;
  const list = (items: Json, of: Json | undefined): Json => ({ ...of, items });
  flowProps.inputs = list(toJson(inputSchema), flowProps.inputs);
  for (const key of ['tasks', 'errors', 'finally'] as const)
    flowProps[key] = list(ref('task'), flowProps[key]);
  flowProps.triggers = list({ anyOf: Object.values(TRIGGERS).map((d) => ref(d.type)) }, flowProps.triggers);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Kestra flow (kestra-plugin-fastly)',
    ...flow,
    $defs: defs,
  };
}
