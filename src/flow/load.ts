import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Document, isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { InvalidInputError, show } from '../errors.js';
import { DEPRECATED_TYPES, TASKS, TRIGGERS } from '../tasks/index.js';
import {
  describeIssue,
  parseAsKestra,
  settingsOf,
  type StaticCheck,
  type TaskDefinition,
} from '../tasks/task.js';
import { javaNumberTags, javaText } from '../pebble/index.js';
import { parseDuration } from '../duration.js';
import { hasExpression, templateProblem, templateReads } from './expressions.js';
import { typedDefault, typedOutput } from './inputs.js';
import {
  flowSchema,
  type InputDef,
  inputSchema,
  type OutputDef,
  outputSchema,
  TASK_COMMON_KEYS,
  TRIGGER_COMMON_KEYS,
  taskCommonSchema,
} from './model.js';

export const MAX_FLOW_BYTES = 1024 * 1024;

export interface TaskNode {
  id: string;
  type: string;
  def: TaskDefinition;
  common: z.output<typeof taskCommonSchema>;
  /** Properties as written (expressions unrendered), plugin defaults applied. */
  props: Record<string, unknown>;
  /** Flowables: the nested tasks, by the property holding them (`then`, `else`, `tasks`). */
  children?: Record<string, TaskNode[]>;
  /** Where it is in the flow: `tasks[0]`, `tasks[1].then[0]`. */
  path?: string;
}

export interface TriggerNode {
  id: string;
  type: string;
  def: TaskDefinition;
  disabled: boolean;
  stopAfter: string[] | undefined;
  props: Record<string, unknown>;
  /** Where it is in the flow: `triggers[0]`. */
  path?: string;
}

export interface Flow {
  file: string;
  id: string;
  namespace: string;
  description: string | undefined;
  /** Kestra's labels are strings: `ver: 1.0` is "1.0", as Jackson's String.valueOf makes it. */
  labels: Record<string, string>;
  inputs: InputDef[];
  variables: Record<string, unknown>;
  /** Kestra's flow revision, when the file gives one (`flow.revision` is 1 otherwise). */
  revision?: number;
  tasks: TaskNode[];
  errors: TaskNode[];
  finally: TaskNode[];
  /** Kestra's flow-level `outputs`, rendered when the execution ends (the execution's `outputs`). */
  outputs: OutputDef[];
  triggers: TriggerNode[];
  disabled: boolean;
  warnings: string[];
  /** `line:col` of every value with an expression, by property path (`tasks[0].apiToken`). */
  positions?: Record<string, string>;
}

export interface FlowProblem {
  line: number;
  col: number;
  path: string;
  message: string;
}

/** A flow file that cannot run: every problem found, each with line, column and property path. */
export class FlowError extends InvalidInputError {
  override readonly name: string = 'FlowError';
  override readonly code: string = 'FLOW_INVALID';
  constructor(
    readonly file: string,
    readonly problems: FlowProblem[],
  ) {
    super(
      problems
        .map((p) => `${file}:${p.line}:${p.col}: ${p.path ? `${p.path}: ` : ''}${p.message}`)
        .join('\n'),
      file,
    );
  }
}

type Path = (string | number)[];

const pathText = (path: Path) =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

class Problems {
  readonly list: FlowProblem[] = [];
  constructor(
    private readonly doc: Document | undefined,
    private readonly lines: LineCounter,
  ) {}

  /** Records a problem; a second one at the same property (another check's wording) is left out. */
  add(path: Path, message: string): void {
    const text = pathText(path);
    if (text && this.list.some((x) => x.path === text)) return;
    const pos = this.position(path);
    this.list.push({ line: pos.line, col: pos.col, path: text, message });
  }

  /** Where a property is written (or the nearest property around it). */
  position(path: Path): { line: number; col: number } {
    let p = [...path];
    let node: unknown;
    while (this.doc) {
      node = p.length === 0 ? this.doc.contents : this.doc.getIn(p, true);
      if (isNode(node) || p.length === 0) break;
      p = p.slice(0, -1);
    }
    const offset = isNode(node) && node.range ? node.range[0] : 0;
    return this.lines.linePos(offset);
  }
}

function knownTypes(registry: Record<string, unknown>): string {
  return Object.keys(registry).join(', ');
}

function applyPluginDefaults(
  type: string,
  props: Record<string, unknown>,
  defaults: { type: string; values: Record<string, unknown>; forced?: boolean | undefined }[],
): Record<string, unknown> {
  let out = props;
  for (const d of defaults) {
    if (type === d.type || type.startsWith(`${d.type}.`))
      out = d.forced ? { ...out, ...d.values } : { ...d.values, ...out };
  }
  return out;
}

/** Validates properties as written: values that are expressions are checked after rendering, at run time. */
function checkProps(
  def: TaskDefinition,
  props: Record<string, unknown>,
  path: Path,
  where: string,
  problems: Problems,
): void {
  const literal = Object.fromEntries(Object.entries(props).filter(([, v]) => !hasExpression(v)));
  const result = parseAsKestra(def.props, literal);
  if (result.success) return;
  for (const issue of result.error.issues) {
    const key = issue.path[0];
    if (typeof key === 'string' && key in props && hasExpression(props[key])) continue;
    const message = describeIssue(where, issue, literal)
      .slice(where.length)
      .replace(/^[.:[\]\w]*?: /, '');
    const sub = issue.code === 'unrecognized_keys' ? [issue.keys[0] as string] : (issue.path as Path);
    problems.add(
      [...path, ...sub],
      issue.code === 'unrecognized_keys' ? `unknown property for ${def.type}` : message,
    );
  }
}

/**
 * Runs a check that throws InvalidInputError; records its message (without the name prefix) at
 * `path`. True when the check passed, whether or not its problem was already recorded (by the schema).
 */
function attempt(problems: Problems, path: Path, check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    problems.add(path, err.message.replace(/^[\w.[\]]+: /, ''));
    return false;
  }
}

/** Every template string in a value (nested lists and maps), with its path, checked for syntax. */
function checkTemplates(value: unknown, path: Path, problems: Problems): void {
  if (typeof value === 'string') {
    const problem = templateProblem(value);
    if (problem) problems.add(path, problem);
  } else if (Array.isArray(value)) value.forEach((v, i) => checkTemplates(v, [...path, i], problems));
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) checkTemplates(v, [...path, k], problems);
}

/** Whether a value (nested lists and maps too) holds a template. */
function anyExpression(value: unknown): boolean {
  const found: TemplateAt[] = [];
  templatesIn(value, [], false, found);
  return found.length > 0;
}

const literal = (v: unknown) => v !== undefined && v !== null && !hasExpression(v);

/** What a task's own `check` reports through: its problems land under the task's path. */
function staticCheck(path: Path, problems: Problems, env: LoadContext['env']): StaticCheck {
  return {
    literal,
    // Whether the check passed: a property the schema already refused (`by: weekly`) is recorded once,
    // but still fails, so that checks built on it (the window) are not made with it.
    attempt: (sub, check) => attempt(problems, [...path, ...sub], check),
    problem: (sub, message) => problems.add([...path, ...sub], message),
    now: Math.floor(Date.now() / 1000),
    env,
  };
}

/**
 * The checks `run` would otherwise make only when it reaches a task, after earlier tasks (purges,
 * perhaps) already ran: template syntax, the durations of `timeout` and `retry`, then the task
 * type's own (`check` on its definition: ids, keys, URLs, time expressions, regions…).
 */
function checkBeforeRun(
  def: TaskDefinition,
  props: Record<string, unknown>,
  common: Record<string, unknown>,
  path: Path,
  ctx: LoadContext,
): void {
  const { problems } = ctx;
  checkTemplates(ownProps(def, props), path, problems);
  for (const key of ['runIf']) checkTemplates(common[key], [...path, key], problems);
  if (literal(common.timeout))
    attempt(problems, [...path, 'timeout'], () => parseDuration(common.timeout, 'timeout'));
  const retry = common.retry as Record<string, unknown> | undefined;
  for (const key of ['interval', 'maxInterval', 'minInterval', 'maxDuration']) {
    if (retry && literal(retry[key]))
      attempt(problems, [...path, 'retry', key], () => parseDuration(retry[key], key));
  }
  def.check?.(props, staticCheck(path, problems, ctx.env));
}

/** A task's properties without the lists of nested tasks (loaded, and checked, as tasks of their own). */
function ownProps(def: TaskDefinition, props: Record<string, unknown>): Record<string, unknown> {
  if (!def.children) return props;
  const nested = new Set(def.children.map((c) => c.property));
  return Object.fromEntries(Object.entries(props).filter(([k]) => !nested.has(k)));
}

/** Every template string in a value, with its path. */
function templatesIn(value: unknown, path: Path, loop: boolean, out: TemplateAt[]): void {
  if (typeof value === 'string') {
    if (hasExpression(value)) out.push({ path, template: value, loop });
  } else if (Array.isArray(value)) value.forEach((v, i) => templatesIn(v, [...path, i], loop, out));
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) templatesIn(v, [...path, k], loop, out);
}

interface TemplateAt {
  path: Path;
  template: string;
  /** Inside a ForEach: `parent` and `parents` are defined (`taskrun` is everywhere; its `value` here). */
  loop: boolean;
}

/** What a task's templates may read: the roots run defines, the inputs, variables and task ids. */
interface Defined {
  inputs: string[];
  /** The flow's `variables` as written (a value with an expression is rendered at run time). */
  variables: Record<string, unknown>;
  ids: Map<string, string>;
  /** The flow has triggers, so `trigger` may be defined. */
  trigger: boolean;
}

/** The variables an execution defines for a task (src/flow/executor.ts), as Kestra names them. */
const ROOTS = ['flow', 'execution', 'inputs', 'outputs', 'labels', 'envs', 'vars', 'task', 'taskrun'];
const LOOP_ROOTS = ['parent', 'parents'];

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** Why a read of `path` fails whatever the run (an undefined name or key), or undefined. */
function readProblem(path: string[], loop: boolean, defined: Defined): string | undefined {
  const [root, name] = path;
  const roots = [...ROOTS, ...(defined.trigger ? ['trigger'] : []), ...(loop ? LOOP_ROOTS : [])];
  if (!roots.includes(root as string)) {
    const other = !loop && LOOP_ROOTS.includes(root as string) ? ' (only inside a ForEach)' : '';
    const trig = !defined.trigger && root === 'trigger' ? ' (the flow has no triggers)' : '';
    return `uses '${root}', which is not defined here${other}${trig}; defined: ${roots.join(', ')}`;
  }
  if (name === undefined) return undefined;
  if (root === 'taskrun' && (name === 'value' || name === 'iteration') && !loop) {
    return `uses taskrun.${name}, which is defined only inside a ForEach`;
  }
  if (root === 'inputs' && !defined.inputs.includes(name)) {
    const list = defined.inputs.length
      ? `it declares: ${defined.inputs.join(', ')}`
      : 'it declares no inputs';
    return `uses input '${name}', which the flow does not declare; ${list}`;
  }
  if (root === 'outputs' && !defined.ids.has(name)) {
    return `uses outputs.${name}, but the flow has no task '${name}'; its tasks: ${[...defined.ids.keys()].join(', ')}`;
  }
  if (root === 'vars') {
    let value: unknown = defined.variables;
    for (let i = 1; i < path.length; i++) {
      if (!isMap(value)) return undefined; // a list, a scalar, or an expression rendered at run time
      const key = path[i] as string;
      if (!Object.prototype.hasOwnProperty.call(value, key)) {
        const keys = Object.keys(value);
        const at = path.slice(0, i).join('.');
        const has =
          i === 1
            ? keys.length
              ? `its variables: ${keys.join(', ')}`
              : 'it has no variables block'
            : keys.length
              ? `${at} has: ${keys.join(', ')}`
              : `${at} is an empty map`;
        return `uses ${path.slice(0, i + 1).join('.')}, which the flow's variables do not define; ${has}`;
      }
      value = value[key];
      if (hasExpression(value)) return undefined;
    }
  }
  return undefined;
}

/** A macro's body sees only its parameters and its own sets (Pebble's MacroNode), never the context. */
function macroReadProblem(root: string, macro: { name: string; params: string[] }): string {
  const params = macro.params.length ? `its parameters: ${macro.params.join(', ')}` : 'it has no parameters';
  return `uses '${root}' inside macro '${macro.name}', which sees only its parameters and its own sets, not the template's variables; ${params} (pass '${root}' as an argument)`;
}

/**
 * Every variable a task's templates read must be defined when it runs, as run would find on
 * reaching the task: a root Kestra defines there, a declared input, a task id after `outputs.`, a
 * key of the flow's literal `variables` (at any depth). Reads a guard makes optional (`is defined`,
 * `??`, `default`…) are left out; the reads and guards come from the parsed template.
 */
function checkReads(templates: TemplateAt[], defined: Defined, problems: Problems): void {
  for (const { path, template, loop } of templates) {
    let reads;
    try {
      reads = templateReads(template);
    } catch {
      continue; // a syntax error, reported by checkTemplates
    }
    for (const read of reads) {
      if (read.guarded) continue;
      const problem = read.macro
        ? macroReadProblem(read.path[0] as string, read.macro)
        : readProblem(read.path, loop, defined);
      if (problem === undefined) continue;
      problems.add(path, `${show(template)} ${problem}`);
      break;
    }
  }
}

interface LoadContext {
  problems: Problems;
  ids: Map<string, string>;
  /** Task templates, checked once every task id is known. */
  templates: TemplateAt[];
  env: Record<string, string | undefined> | undefined;
  pluginDefaults: { type: string; values: Record<string, unknown>; forced?: boolean | undefined }[];
  warnings: string[];
}

function loadTasks(list: unknown, path: Path, ctx: LoadContext, loop = false): TaskNode[] {
  if (!Array.isArray(list)) return [];
  const nodes: TaskNode[] = [];
  list.forEach((raw, i) => {
    const p = [...path, i];
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      ctx.problems.add(p, `expected a task (a map with id and type), got ${show(raw)}`);
      return;
    }
    let task = settingsOf(taskCommonSchema, raw) as Record<string, unknown>;
    let common = taskCommonSchema.safeParse(task);
    if (!common.success) {
      for (const issue of common.error.issues) {
        ctx.problems.add(
          [...p, ...(issue.path as Path)],
          describeIssue('', issue, task).replace(/^[.:[\]\w]*?: /, ''),
        );
      }
      // A bad common property (timeout, retry…) does not hide the task's other problems.
      const bad = new Set(common.error.issues.map((issue) => issue.path[0]));
      if (bad.has('id') || bad.has('type')) return;
      task = Object.fromEntries(Object.entries(task).filter(([k]) => !bad.has(k)));
      common = taskCommonSchema.safeParse(task);
      if (!common.success) return;
    }
    const { id, type: written } = common.data;
    const type = DEPRECATED_TYPES[written] ?? written;
    if (type !== written) {
      ctx.warnings.push(`task '${id}': type ${written} is deprecated; use ${type}`);
    }
    const seenAt = ctx.ids.get(id);
    if (seenAt) ctx.problems.add([...p, 'id'], `duplicate task id '${id}' (also at ${seenAt})`);
    else ctx.ids.set(id, pathText(p));
    const def = TASKS[type];
    if (!def) {
      const hint = type.startsWith('io.kestra.plugin.fastly')
        ? 'unknown Fastly task type'
        : 'unknown task type';
      ctx.problems.add([...p, 'type'], `${hint} ${show(type)}; known types: ${knownTypes(TASKS)}`);
      return;
    }
    const own = Object.fromEntries(Object.entries(task).filter(([k]) => !TASK_COMMON_KEYS.includes(k)));
    const props = settingsOf(def.props, applyPluginDefaults(type, own, ctx.pluginDefaults)) as Record<
      string,
      unknown
    >;
    checkProps(def, props, p, `task '${id}'`, ctx.problems);
    checkBeforeRun(def, props, task, p, ctx);
    templatesIn(ownProps(def, props), p, loop, ctx.templates);
    templatesIn(task.runIf, [...p, 'runIf'], loop, ctx.templates);
    const node: TaskNode = { id, type, def, common: common.data, props, path: pathText(p) };
    if (def.children) {
      const children: Record<string, TaskNode[]> = {};
      for (const { property, loop: inLoop } of def.children) {
        if (props[property] !== undefined)
          children[property] = loadTasks(props[property], [...p, property], ctx, loop || inLoop === true);
      }
      node.children = children;
    }
    nodes.push(node);
  });
  return nodes;
}

function loadTriggers(list: unknown, ctx: LoadContext): TriggerNode[] {
  if (!Array.isArray(list)) return [];
  const nodes: TriggerNode[] = [];
  list.forEach((raw, i) => {
    const p: Path = ['triggers', i];
    const trigger = (raw ?? {}) as Record<string, unknown>;
    const id = trigger.id;
    const type = trigger.type;
    if (typeof id !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_-]*$/.test(id)) {
      ctx.problems.add([...p, 'id'], `expected a trigger id (letters, digits, _ and -), got ${show(id)}`);
      return;
    }
    const def = typeof type === 'string' ? TRIGGERS[type] : undefined;
    if (!def) {
      ctx.problems.add(
        [...p, 'type'],
        `unknown trigger type ${show(type)}; known types: ${knownTypes(TRIGGERS)}`,
      );
      return;
    }
    const props = settingsOf(
      def.props,
      Object.fromEntries(Object.entries(trigger).filter(([k]) => !TRIGGER_COMMON_KEYS.includes(k))),
    ) as Record<string, unknown>;
    checkProps(def, props, p, `trigger '${id}'`, ctx.problems);
    checkBeforeRun(def, props, trigger, p, ctx);
    const stopAfter = Array.isArray(trigger.stopAfter) ? (trigger.stopAfter as string[]) : undefined;
    nodes.push({
      id,
      type: type as string,
      def,
      disabled: trigger.disabled === true,
      stopAfter,
      props,
      path: pathText(p),
    });
  });
  return nodes;
}

export interface ParseOptions {
  /**
   * The environment a server would poll triggers with: given, a StatsTrigger interval below PT30S
   * is refused unless its endpoint (baseUrl, FASTLY_API_ENDPOINT) is loopback.
   */
  env?: Record<string, string | undefined>;
}

/** Parses and validates a flow; throws a FlowError listing every problem with its position. */
export function parseFlow(text: string, file: string, options: ParseOptions = {}): Flow {
  const lines = new LineCounter();
  // Numbers typed as Kestra's Jackson reads a flow: `1.0` a double, a long past 2^53 exact. Settings
  // get JS numbers back at their schemas (settingsOf); data (variables, defaults, values) keeps them.
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    customTags: javaNumberTags,
  });
  const syntax = new Problems(undefined, lines);
  for (const e of doc.errors) {
    const pos = lines.linePos(e.pos[0]);
    syntax.list.push({
      line: pos.line,
      col: pos.col,
      path: '',
      message: `YAML syntax error: ${e.message.split('\n')[0]}`,
    });
  }
  if (syntax.list.length) throw new FlowError(file, syntax.list);
  const data = doc.toJS() as unknown;
  const problems = new Problems(doc, lines);
  if (!isMap(data)) {
    problems.add([], 'expected a flow: a map with id, namespace and tasks');
    throw new FlowError(file, problems.list);
  }
  const top = flowSchema.safeParse(settingsOf(flowSchema, data));
  if (!top.success) {
    for (const issue of top.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) problems.add([k], 'unknown flow property');
      } else problems.add(issue.path as Path, describeIssue('', issue, data).replace(/^[.:[\]\w]*?: /, ''));
    }
  }
  const raw = data;
  const inputs: InputDef[] = [];
  (Array.isArray(raw.inputs) ? raw.inputs : []).forEach((input, i) => {
    const r = inputSchema.safeParse(settingsOf(inputSchema, input));
    if (r.success) {
      inputs.push(r.data);
      // A literal default is converted now, as `run` converts it when the input is not given; one
      // with an expression is left as written.
      const { defaults } = r.data;
      if (defaults !== undefined && defaults !== null && !anyExpression(defaults))
        try {
          typedDefault(r.data);
        } catch (err) {
          if (!(err instanceof InvalidInputError)) throw err;
          // An ARRAY's item is named `input 'id'[n]`: the problem goes at the item, `defaults[n]`.
          const name = `input '${r.data.id}'`;
          const [, items = ''] = /^((?:\[\d+\])*): /.exec(err.message.slice(name.length)) ?? [];
          const at = [...items.matchAll(/\d+/g)].map((m) => Number(m[0]));
          problems.add(
            ['inputs', i, 'defaults', ...at],
            err.message.startsWith(name)
              ? err.message.slice(name.length).replace(/^[[\]\d]*: /, '')
              : err.message,
          );
        }
    } else
      for (const issue of r.error.issues)
        problems.add(
          ['inputs', i, ...(issue.path as Path)],
          describeIssue('', issue, input).replace(/^[.:[\]\w]*?: /, ''),
        );
  });
  const outputs: OutputDef[] = [];
  /** Where each of `outputs` is in the flow (`outputs[i]`): a refused one leaves a gap. */
  const outputAt: number[] = [];
  (Array.isArray(raw.outputs) ? raw.outputs : []).forEach((output, i) => {
    const r = outputSchema.safeParse(settingsOf(outputSchema, output));
    if (!r.success) {
      for (const issue of r.error.issues)
        problems.add(
          ['outputs', i, ...(issue.path as Path)],
          describeIssue('', issue, output).replace(/^[.:[\]\w]*?: /, ''),
        );
      return;
    }
    if (outputs.some((o) => o.id === r.data.id))
      problems.add(['outputs', i, 'id'], `duplicate output id '${r.data.id}'`);
    outputs.push(r.data);
    outputAt.push(i);
  });
  const ctx: LoadContext = {
    problems,
    ids: new Map(),
    templates: [],
    env: options.env,
    pluginDefaults: top.success ? (top.data.pluginDefaults ?? []) : [],
    warnings: [],
  };
  const tasks = loadTasks(raw.tasks, ['tasks'], ctx);
  const errors = loadTasks(raw.errors, ['errors'], ctx);
  const fin = loadTasks(raw.finally, ['finally'], ctx);
  const triggers = loadTriggers(raw.triggers, ctx);
  // The flow's outputs are rendered once the execution has ended: they read what its tasks did.
  outputs.forEach((o, n) => {
    const path = ['outputs', outputAt[n] as number, 'value'];
    checkTemplates(o.value, path, problems);
    const found: TemplateAt[] = [];
    templatesIn(o.value, path, false, found);
    ctx.templates.push(...found);
    // A literal value is converted now, as Kestra would at the end of every execution.
    if (!found.length)
      try {
        typedOutput(o, o.value);
      } catch (err) {
        if (!(err instanceof InvalidInputError)) throw err;
        problems.add(path, err.message.replace(`output '${o.id}': `, ''));
      }
  });
  checkReads(
    ctx.templates,
    {
      inputs: inputs.map((i) => i.id),
      variables: isMap(raw.variables) ? raw.variables : {},
      ids: ctx.ids,
      trigger: Array.isArray(raw.triggers) && raw.triggers.length > 0,
    },
    problems,
  );
  if (problems.list.length) throw new FlowError(file, problems.list);

  const f = top.data as z.output<typeof flowSchema>;
  const warnings = ctx.warnings.map((w) => `${file}: ${w}`);
  if (f.concurrency !== undefined)
    warnings.push(`${file}: 'concurrency' is accepted but not supported by kestra-fastly; it is ignored`);
  const positions: Record<string, string> = {};
  const everyTemplate: TemplateAt[] = [];
  templatesIn(raw, [], false, everyTemplate);
  for (const { path } of everyTemplate) {
    const pos = problems.position(path);
    positions[pathText(path)] = `${pos.line}:${pos.col}`;
  }
  const labels = Object.fromEntries(
    (Array.isArray(f.labels)
      ? f.labels.map((l) => [l.key, l.value] as const)
      : Object.entries(f.labels ?? {})
    ).map(([key, value]) => [key, javaText(value)]),
  );
  return {
    file,
    id: f.id,
    namespace: f.namespace,
    description: f.description,
    labels,
    inputs,
    variables: f.variables ?? {},
    ...(f.revision !== undefined ? { revision: f.revision } : {}),
    tasks,
    errors,
    finally: fin,
    outputs,
    triggers,
    disabled: f.disabled ?? false,
    warnings,
    positions,
  };
}

export function loadFlowFile(file: string, options: ParseOptions = {}): Flow {
  let size: number;
  let folder: boolean;
  try {
    const st = statSync(file);
    size = st.size;
    folder = st.isDirectory();
  } catch (err) {
    throw new InvalidInputError(
      `${file}: cannot read the flow file (${(err as NodeJS.ErrnoException).code})`,
      file,
    );
  }
  if (folder) {
    throw new InvalidInputError(`${file}: is a folder; expected a flow file (.yml)`, file);
  }
  if (size > MAX_FLOW_BYTES) {
    throw new InvalidInputError(
      `${file}: the flow file is ${(size / 1048576).toFixed(1)} MB; the limit is 1 MB`,
      file,
    );
  }
  return parseFlow(readFileSync(file, 'utf8'), file, options);
}

/**
 * `file:line:col: path` of a property of a flow (`sub`: a path inside it), for errors found when it
 * runs; `file: path` when its position is not known.
 */
export function locate(flow: Flow, path: string, sub: readonly (string | number)[] = []): string {
  const full = sub.reduce<string>((t, k) => (typeof k === 'number' ? `${t}[${k}]` : `${t}.${k}`), path);
  const pos = flow.positions?.[full];
  return pos ? `${flow.file}:${pos}: ${full}` : `${flow.file}: ${full}`;
}

/** Flows whose `namespace.id` is also another file's: every file involved, and a problem per repeat. */
export function duplicateIds(flows: Flow[]): { files: Set<string>; problems: string[] } {
  const seen = new Map<string, string>();
  const files = new Set<string>();
  const problems: string[] = [];
  for (const f of flows) {
    const key = `${f.namespace}.${f.id}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, f.file);
    else if (first !== f.file) {
      files.add(first).add(f.file);
      problems.push(
        `${f.file}: flow ${key} is also defined in ${first}; expected one file per namespace and id`,
      );
    }
  }
  return { files, problems };
}

/** The same `namespace.id` in two files is refused, naming both (the server would serve only one). */
export function checkDuplicateIds(flows: Flow[]): void {
  const { problems } = duplicateIds(flows);
  if (problems.length) throw new InvalidInputError(problems.join('\n'));
}

/**
 * How a change of a flow file is logged, by the server's flow registry: a
 * file seen for the first time is "added"; an invalid version, or one whose flow another file
 * already serves, keeps the previous one if there is one, and otherwise is "not loaded".
 */
export const flowFileChange = {
  loaded: (file: string, before: boolean) => `${before ? 'reloaded' : 'added'} ${file}`,
  invalid: (file: string, before: boolean, problem: string) =>
    before
      ? `${file} changed but is invalid; keeping the previous version: ${problem}`
      : `${file} is invalid; not loaded (fix it and it is picked up without a restart): ${problem}`,
  /** A file naming a flow (`namespace.id`) that `first` already serves: refused, as at start-up. */
  duplicate: (file: string, before: boolean, flow: string, first: string) =>
    before
      ? `${file} changed: flow ${flow} is also defined in ${first}; keeping the previous version (expected one file per namespace and id)`
      : `${file}: flow ${flow} is also defined in ${first}, which keeps running; not loaded (expected one file per namespace and id)`,
};

/** Lists the flow files named by `paths` (folders are read one level deep). */
export function flowFiles(paths: string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      throw new InvalidInputError(`${p}: no such flow file or folder`, p);
    }
    if (!isDir) files.push(p);
    else for (const f of readdirSync(p).sort()) if (/\.ya?ml$/.test(f)) files.push(join(p, f));
  }
  return files;
}
