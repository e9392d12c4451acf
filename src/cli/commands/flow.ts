import type { Command } from 'commander';
import { InvalidInputError, type KestraFastlyError, RunFailedError } from '../../errors.js';
import { type Execution, runFlow } from '../../flow/executor.js';
import { parseInputFlags, resolveInputs } from '../../flow/inputs.js';
import { type Flow, loadFlowFile } from '../../flow/load.js';
import { createLogger, type Level, Masker, parseLevel } from '../../logger.js';
import { evaluateTrigger, resolveTriggerProps } from '../../flow/trigger.js';
import { StatsTrigger } from '../../tasks/stats/StatsTrigger.js';

interface RunFlags {
  input: string[];
  secretsFile?: string;
  json?: boolean;
  logLevel: string;
  jsonLogs?: boolean;
  trigger: boolean;
}

export interface FlowRunResult {
  execution?: Execution;
  /** Set when a trigger was evaluated and did not fire. */
  notFired?: { trigger: string; value: number | null; message: string };
}

/**
 * Runs a flow file once. A flow with a StatsTrigger has the trigger evaluated first: the flow runs
 * with `{{ trigger.* }}` when it fires, and not at all when it does not.
 */
export async function runFlowFile(
  file: string,
  opts: {
    inputs?: Record<string, string>;
    secretsFile?: string | undefined;
    logLevel?: Level;
    jsonLogs?: boolean;
    useTrigger?: boolean;
    masker?: Masker;
  },
): Promise<FlowRunResult> {
  const flow: Flow = loadFlowFile(file);
  const masker = opts.masker ?? new Masker();
  const log = createLogger({
    level: opts.logLevel ?? 'INFO',
    json: opts.jsonLogs,
    masker,
    fields: { flow: flow.id },
  });
  for (const w of flow.warnings) log.warn(w);
  const inputs = resolveInputs(flow.inputs, opts.inputs ?? {});
  let trigger: Record<string, unknown> | undefined;
  const polling =
    opts.useTrigger === false
      ? undefined
      : flow.triggers.find((t) => !t.disabled && t.type === StatsTrigger.type);
  if (polling) {
    const props = resolveTriggerProps(flow, polling, {
      env: process.env,
      masker,
      secretsFile: opts.secretsFile,
    });
    const result = await evaluateTrigger(props, { logger: log, env: process.env }, Date.now() / 1000);
    log.info(
      `trigger ${polling.id}: ${props.field} ${props.aggregation} = ${result.value} (${props.comparator} ${props.threshold}: ${result.matched ? 'fires' : 'does not fire'})`,
    );
    if (!result.matched) {
      return {
        notFired: {
          trigger: polling.id,
          value: result.value,
          message: `trigger ${polling.id} did not fire; the flow was not executed`,
        },
      };
    }
    trigger = result.variables;
  }
  const execution = await runFlow(flow, {
    inputs,
    trigger,
    secretsFile: opts.secretsFile,
    masker,
    logLevel: opts.logLevel,
    jsonLogs: opts.jsonLogs,
  });
  return { execution };
}

export function registerFlow(program: Command): void {
  program
    .command('run')
    .argument('<flow>', 'flow file (YAML)')
    .description('Run a flow once: tasks in order, logs streamed, outputs printed')
    .option(
      '-i, --input <key=value>',
      'flow input (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option('--secrets-file <file>', 'dotenv file of secrets, read after SECRET_* and plain env variables')
    .option('-j, --json', 'print the execution as one JSON document')
    .option('--log-level <level>', 'TRACE, DEBUG, INFO, WARN or ERROR', 'INFO')
    .option('--json-logs', 'structured log lines on stderr')
    .option('--no-trigger', 'do not evaluate the flow’s trigger first; run the tasks directly')
    .action(async (file: string, opts: RunFlags) => {
      const masker = new Masker();
      const result = await runFlowFile(file, {
        inputs: parseInputFlags(opts.input),
        secretsFile: opts.secretsFile,
        logLevel: parseLevel(opts.logLevel),
        jsonLogs: opts.jsonLogs,
        useTrigger: opts.trigger,
        masker,
      });
      const print = (text: string) => process.stdout.write(`${masker.maskCredentials(text)}\n`);
      if (result.notFired) {
        print(
          opts.json
            ? JSON.stringify({ state: 'NOT_TRIGGERED', ...result.notFired }, null, 2)
            : result.notFired.message,
        );
        return;
      }
      const ex = result.execution as Execution;
      if (opts.json) print(JSON.stringify(ex, null, 2));
      else {
        print(`${ex.namespace}.${ex.flowId} ${ex.id}: ${ex.state}`);
        for (const run of ex.taskRuns) {
          print(
            `  ${run.taskId} (${run.type.split('.').pop()}) ${run.state} in ${run.durationMs} ms${run.error ? `: ${run.error}` : ''}`,
          );
          if (run.outputs !== undefined && Object.keys(run.outputs as object).length)
            print(`    outputs: ${summarize(run.outputs)}`);
        }
      }
      if (ex.state === 'FAILED') throw executionFailed(ex, masker);
    });

  program
    .command('validate')
    .argument('<files...>', 'flow files')
    .description('Check flow files without running them')
    .action((files: string[]) => {
      const problems: string[] = [];
      for (const f of files) {
        try {
          const flow = loadFlowFile(f);
          process.stdout.write(
            `✓ ${f}: ${flow.namespace}.${flow.id} (${flow.tasks.length} task(s), ${flow.triggers.length} trigger(s))\n`,
          );
          for (const w of flow.warnings) process.stderr.write(`warning: ${w}\n`);
        } catch (err) {
          if (!(err instanceof InvalidInputError)) throw err;
          problems.push(err.message);
        }
      }
      if (problems.length) throw new InvalidInputError(problems.join('\n'));
    });

  program
    .command('schema')
    .description('Print the JSON Schema of flow files (for the YAML language server)')
    .option('-o, --output <file>', 'write to a file')
    .action(async (opts: { output?: string }) => {
      const { flowJsonSchema } = await import('../../flow/schema.js');
      const text = `${JSON.stringify(flowJsonSchema(), null, 2)}\n`;
      if (opts.output) (await import('node:fs')).writeFileSync(opts.output, text);
      else process.stdout.write(text);
    });
}

/** A FAILED execution as an error: exit 2 when an input or the flow was at fault, else 1. */
export function executionFailed(ex: Execution, masker: Masker): KestraFastlyError {
  const run = ex.taskRuns.find((r) => r.state === 'FAILED' && r.error);
  const message = masker.mask(
    `execution ${ex.id} of ${ex.namespace}.${ex.flowId} FAILED${run ? ` at task '${run.taskId}': ${run.error}` : ''}`,
  );
  return run?.errorKind === 'input' ? new InvalidInputError(message) : new RunFailedError(message);
}

function summarize(outputs: unknown): string {
  const text = JSON.stringify(outputs, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 20
      ? `{… ${Object.keys(v).length} entries}`
      : Array.isArray(v) && v.length > 20
        ? `[… ${v.length} items]`
        : v,
  );
  return text.length > 400 ? `${text.slice(0, 399)}…` : text;
}
