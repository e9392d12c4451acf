import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidInputError, type KestraFastlyError, RunFailedError } from '../../errors.js';
import type { Execution } from '../../flow/executor.js';
import { parseInputFlags } from '../../flow/inputs.js';
import { duplicateIds, type Flow, loadFlowFile } from '../../flow/load.js';
import { parseLevel } from '../../logger.js';
import { Masker } from '../../masker.js';
import { writeJson } from '../../pebble/java.js';
import { runFlowFile } from '../../flow/run-file.js';
import { command } from '../command.js';
import { addCommand } from '../flags.js';
import { stopSignal } from '../interrupt.js';
import { checkOutputPath, withOutput, write } from '../output.js';
import { briefOutputs } from '../summary.js';

/** `run`: a flow once, its logs streamed and its outputs printed. */
const RUN = command({
  name: 'run',
  argument: { spec: '<flow>', description: 'flow file (YAML)' },
  description: 'Run a flow once: tasks in order, logs streamed, outputs printed',
  flags: [
    { flags: '-i, --input <key=value>', description: 'flow input (repeatable)', repeatable: true },
    {
      flags: '--secrets-file <file>',
      description: 'dotenv file of secrets, read after SECRET_* and plain env variables',
    },
    { flags: '-j, --json', description: 'print the execution as one JSON document' },
    { flags: '--log-level <level>', description: 'TRACE, DEBUG, INFO, WARN or ERROR', default: 'INFO' },
    { flags: '--json-logs', description: 'structured log lines on stderr' },
    {
      flags: '--no-trigger',
      description: 'do not evaluate the flow’s trigger first; run the tasks directly',
    },
  ],
  async action(file: string, opts) {
    const masker = new Masker();
    const result = await runFlowFile(file, {
      inputs: parseInputFlags(opts.input),
      secretsFile: opts.secretsFile,
      logLevel: parseLevel(opts.logLevel),
      jsonLogs: opts.jsonLogs,
      useTrigger: opts.trigger,
      masker,
      signal: stopSignal,
    });
    const print = (text: string) => process.stdout.write(`${masker.maskCredentials(text)}\n`);
    if (result.notFired) {
      print(
        opts.json ? writeJson({ state: 'NOT_TRIGGERED', ...result.notFired }, 2) : result.notFired.message,
      );
      return;
    }
    const ex = result.execution as Execution;
    if (opts.json) {
      const { viewOfRun } = await import('../../flow/view.js');
      print(writeJson(viewOfRun(ex, result.labels), 2));
    } else {
      print(`${ex.namespace}.${ex.flowId} ${ex.id}: ${ex.state}`);
      for (const run of ex.taskRuns) {
        print(
          `  ${run.taskId} (${run.type.split('.').pop()}) ${run.state} in ${run.durationMs} ms${run.error ? `: ${run.error}` : ''}`,
        );
        if (run.outputs !== undefined && Object.keys(run.outputs as object).length)
          print(`    outputs: ${briefOutputs(run.outputs, 400)}`);
      }
      // The flow's `outputs:` (Kestra's execution outputs), rendered at its end; secrets already masked.
      const outputs = Object.entries(ex.flowOutputs ?? {});
      if (outputs.length) {
        print('outputs:');
        for (const [id, value] of outputs) print(`  ${id}: ${briefOutputs(value, 400)}`);
      }
    }
    // KILLED: the exit code and message are the signal's (130, `interrupted by SIGINT`).
    if (ex.state === 'FAILED' || ex.state === 'KILLED') throw executionFailed(ex, masker);
  },
});

/** `validate`: flow files checked, alone and together (duplicate ids). */
const VALIDATE = command({
  name: 'validate',
  argument: {
    spec: '<paths...>',
    description: 'flow files, or folders of flows (their *.yml and *.yaml, as server reads them)',
  },
  description: 'Check flow files without running them',
  flags: [],
  async action(paths: string[]) {
    const { flowFiles } = await import('../../flow/load.js');
    const problems: string[] = [];
    const flows: Flow[] = [];
    for (const f of uniqueFiles(paths, flowFiles, problems)) {
      try {
        // With the environment, as the server polls: a StatsTrigger under PT30S needs a loopback endpoint.
        flows.push(loadFlowFile(f, { env: process.env }));
      } catch (err) {
        if (!(err instanceof InvalidInputError)) throw err;
        problems.push(err.message);
      }
    }
    // A ✓ only for a file that is valid on its own and among the others.
    const duplicates = duplicateIds(flows);
    for (const flow of flows) {
      if (duplicates.files.has(flow.file)) continue;
      process.stdout.write(
        `✓ ${flow.file}: ${flow.namespace}.${flow.id} (${flow.tasks.length} task(s), ${flow.triggers.length} trigger(s))\n`,
      );
      for (const w of flow.warnings) process.stderr.write(`warning: ${w}\n`);
    }
    problems.push(...duplicates.problems);
    if (problems.length) throw new InvalidInputError(problems.join('\n'));
  },
});

/** `schema`: the JSON Schema of flow files. */
const SCHEMA = command({
  name: 'schema',
  description: 'Print the JSON Schema of flow files (for the YAML language server)',
  flags: [{ flags: '-o, --output <file>', description: 'write to a file' }],
  async action(_arg, opts) {
    await checkOutputPath(opts.output);
    const { flowJsonSchema } = await import('../../flow/schema.js');
    const text = `${JSON.stringify(flowJsonSchema(), null, 2)}\n`;
    await withOutput(opts.output, (out) => write(out, text));
  },
});

/** `run`, `validate` and `schema`. */
export function registerFlow(program: Command): void {
  for (const command of [RUN, VALIDATE, SCHEMA]) addCommand(program, command);
}

/**
 * The flow files `paths` name, each once however it is spelled (`v/a.yml`, `./v/a.yml`): a folder
 * gives its flow files as the server lists them; a folder without any is a problem.
 */
export function uniqueFiles(
  paths: string[],
  flowFiles: (paths: string[]) => string[],
  problems: string[],
): string[] {
  const seen = new Set<string>();
  const files: string[] = [];
  for (const p of paths) {
    let folder = false;
    try {
      folder = statSync(p).isDirectory();
    } catch {
      // loadFlowFile says why it cannot be read
    }
    const listed = folder ? flowFiles([p]) : [p];
    if (folder && listed.length === 0) problems.push(`${p}: no flow files (*.yml, *.yaml) in this folder`);
    for (const f of listed) {
      const key = resolve(f);
      if (seen.has(key)) continue;
      seen.add(key);
      files.push(f);
    }
  }
  return files;
}

/** A FAILED execution as an error: exit 2 when an input or the flow was at fault, else 1. */
export function executionFailed(ex: Execution, masker: Masker): KestraFastlyError {
  const run = ex.taskRuns.find((r) => r.state === 'FAILED' && r.error);
  const message = masker.mask(
    `execution ${ex.id} of ${ex.namespace}.${ex.flowId} FAILED${run ? ` at task '${run.taskId}': ${run.error}` : ''}`,
  );
  return run?.errorKind === 'input' ? new InvalidInputError(message) : new RunFailedError(message);
}
