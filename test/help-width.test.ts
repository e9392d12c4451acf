import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import fc from 'fast-check';
import { describeScenario } from '../src/simulator/scenario.js';
import { TEXT_WIDTH, wrapText } from '../src/cli/wrap.js';

const REGISTER: Record<string, () => Promise<(program: Command) => void>> = {
  purge: () => import('../src/cli/commands/purge.js').then((m) => m.registerPurge),
  stats: () => import('../src/cli/commands/stats.js').then((m) => m.registerStats),
  flow: () => import('../src/cli/commands/flow.js').then((m) => m.registerFlow),
  task: () => import('../src/cli/commands/task.js').then((m) => m.registerTask),
  server: () => import('../src/cli/commands/server.js').then((m) => m.registerServer),
  simulator: () => import('../src/cli/commands/simulator.js').then((m) => m.registerSimulator),
  demo: () => import('../src/cli/commands/demo.js').then((m) => m.registerDemo),
};

/** `--help` of a command as printed, with the text added after it (addHelpText). */
function helpOf(cmd: Command): string {
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s), getOutHelpWidth: () => TEXT_WIDTH });
  cmd.outputHelp();
  return text;
}

test('every --help fits 80 columns, the text after the options too (task --help)', async () => {
  const program = new Command('kestra-fastly');
  for (const load of Object.values(REGISTER)) (await load())(program);
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  const commands = all(program);
  const task = commands.find((c) => c.name() === 'task');
  assert.match(helpOf(task as Command), /apiToken defaults to \$FASTLY_API_TOKEN/);
  for (const cmd of commands) {
    for (const line of helpOf(cmd).split('\n'))
      assert.ok([...line].length <= TEXT_WIDTH, `${cmd.name()} --help: ${[...line].length} columns: ${line}`);
  }
});

test("the simulator's scenario line wraps at 80 columns", () => {
  const line = `  ${describeScenario({ field: 'status_5xx', from: 1_800_000_000, to: Number.POSITIVE_INFINITY, perMinute: 400 })}`;
  assert.ok(line.length > TEXT_WIDTH, 'the line the tester saw wrap');
  const wrapped = wrapText(line, TEXT_WIDTH, '    ').split('\n');
  assert.ok(wrapped.length > 1 && wrapped.every((l) => l.length <= TEXT_WIDTH), wrapped.join('\n'));
  assert.match(wrapped[1] ?? '', /^ {4}\S/);
});

test('wrapText keeps every word in order, breaks only between words, and fits the width', () => {
  const word = fc.stringMatching(/^[a-z$(){}:.,'-]{1,12}$/);
  fc.assert(
    fc.property(
      fc.array(word, { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 20, max: 100 }),
      (words, width) => {
        const text = words.join(' ');
        const lines = wrapText(text, width, '  ').split('\n');
        assert.deepEqual(lines.join(' ').split(/ +/).filter(Boolean), words);
        for (const l of lines) assert.ok(l.length <= width, `${width}: ${l}`);
        if (text.length <= width) assert.deepEqual(lines, [text]);
      },
    ),
  );
});
