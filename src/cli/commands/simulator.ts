import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidInputError, RunFailedError, show } from '../../errors.js';
import type { TokenScope } from '../../fastly/errors.js';
import type { RequestEnd } from '../../simulator/state.js';
import {
  describeScenario,
  parseScenarioSpec,
  SCENARIO_EXAMPLE,
  SCENARIO_FORM,
} from '../../simulator/scenario.js';
import { DEMO_SERVICES, type StatsScenario } from '../../simulator/state.js';
import { parseTokenSpec, parseTokensJson } from '../../simulator/tokens.js';
import { type ValueRule, wholeNumber } from '../argv.js';
import { command } from '../command.js';
import { addCommand } from '../flags.js';
import { TEXT_WIDTH, wrapText } from '../wrap.js';

/** N synthetic services with 22-character ids, for load tests. */
function syntheticServices(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const id = `svc${String(i + 1).padStart(19, '0')}`;
    return { id, name: `service-${i + 1}`, domains: [`s${i + 1}.example.com`] };
  });
}

/** A fraction from 0 to 1, as the --fail-* flags take it (parse and error line, as wholeNumber's). */
function fraction(): ValueRule<number> {
  return {
    parse: (v) => {
      const n = Number(v);
      return v.trim() !== '' && n >= 0 && n <= 1 ? n : undefined;
    },
    invalid: (v, flag) => `${flag}: ${show(v)} is not a fraction; expected a number from 0 to 1, e.g. 0.1`,
  };
}

/** `--token NAME=scopes` (repeatable) and `--tokens-file`; none given: any token, every scope. */
function tokensOf(opts: {
  token: string[];
  tokensFile?: string | undefined;
}): Record<string, TokenScope[]> | undefined {
  if (opts.token.length === 0 && opts.tokensFile === undefined) return undefined;
  const tokens: Record<string, TokenScope[]> = {};
  if (opts.tokensFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.tokensFile, 'utf8');
    } catch (err) {
      throw new InvalidInputError(
        `--tokens-file: cannot read ${show(opts.tokensFile)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        '--tokens-file',
      );
    }
    const parsed = parseTokensJson(text);
    if (typeof parsed === 'string') {
      throw new InvalidInputError(`--tokens-file: ${show(opts.tokensFile)}: ${parsed}`, '--tokens-file');
    }
    Object.assign(tokens, parsed);
  }
  for (const spec of opts.token) {
    const parsed = parseTokenSpec(spec);
    if (typeof parsed === 'string')
      throw new InvalidInputError(`--token: (value hidden) ${parsed}`, '--token');
    tokens[parsed.token] = parsed.scopes;
  }
  return tokens;
}

/** `--scenario` (repeatable): traffic added to the stats, e.g. a 5xx spike for a StatsTrigger. */
function scenariosOf(specs: string[], serviceIds: string[], nowSeconds: number): StatsScenario[] {
  return specs.map((spec) => {
    const parsed = parseScenarioSpec(spec, nowSeconds, serviceIds);
    if (typeof parsed === 'string')
      throw new InvalidInputError(`--scenario: ${show(spec)}: ${parsed}`, '--scenario');
    return parsed;
  });
}

/** A failure to bind, as one line naming the flag and value (a run-time failure: exit 1). */
function listenError(err: unknown, opts: { port: number; host: string }): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new RunFailedError(
      `--port: ${opts.port} is already in use on ${opts.host}; stop what listens there, or pick another port (--port 0 takes a free one)`,
      { cause: err },
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new RunFailedError(`--host: ${show(opts.host)} is not an address of this machine`, { cause: err });
  if (code === 'EACCES')
    return new RunFailedError(
      `--port: ${opts.port} on ${opts.host} needs privileges; use a port above 1023 (--port 0 takes a free one)`,
      { cause: err },
    );
  return err;
}

/** `simulator`: the local Fastly API, until a signal. */
const SIMULATOR = command({
  name: 'simulator',
  description: 'Run the local Fastly API simulator (purge, stats, edge cache, faults) until interrupted',
  flags: [
    {
      flags: '-p, --port <n>',
      description: 'port (0 picks a free one)',
      ...wholeNumber(0, 65535),
      default: 8787,
    },
    { flags: '--host <addr>', description: 'address to bind', default: '127.0.0.1' },
    { flags: '--seed <n>', description: 'seed of injected faults', ...wholeNumber(0, 2 ** 31) },
    {
      flags: '--latency <ms>',
      description: 'latency added to every API answer',
      ...wholeNumber(0, 60_000),
    },
    {
      flags: '--latency-jitter <ms>',
      description:
        'up to this much more latency, at random per answer (--latency 100 --latency-jitter 200: 100–300 ms, like the real API)',
      ...wholeNumber(0, 60_000),
    },
    {
      flags: '--fail-5xx <rate>',
      description: 'fraction of API requests answered 503',
      ...fraction(),
    },
    {
      flags: '--fail-429 <rate>',
      description: 'fraction of API requests answered 429',
      ...fraction(),
    },
    {
      flags: '--fail-reset <rate>',
      description: 'fraction of API requests whose connection is reset',
      ...fraction(),
    },
    {
      flags: '--services <n>',
      description: 'serve N synthetic services instead of the three demo ones',
      ...wholeNumber(1, 10_000),
    },
    {
      flags: '--point-fields <fields>',
      description: 'comma-separated: only these stats fields in each point (benchmarks)',
    },
    {
      flags: '--token <NAME=scopes>',
      description:
        'accept only these tokens, each with its comma-separated scopes (global, global:read, purge_select, purge_all); repeatable',
      repeatable: true,
    },
    {
      flags: '--tokens-file <file>',
      description: 'JSON {"TOKEN": ["scope", …]}: the accepted tokens and their scopes',
    },
    {
      flags: '--scenario <spec>',
      description: `add traffic to the stats, ${SCENARIO_FORM}: e.g. ${SCENARIO_EXAMPLE} is 400 more 5xx a minute on every service from 10 minutes ago for 30 minutes (START -10m, +2m or now, the default; no /DURATION: until stopped); repeatable`,
      repeatable: true,
    },
    {
      flags: '--purge-limit <n>',
      description:
        'URL and surrogate-key purges allowed per token per --purge-window (each key counts); past it, 429 with Fastly-RateLimit-* headers',
      ...wholeNumber(1, Number.MAX_SAFE_INTEGER),
    },
    {
      flags: '--purge-window <seconds>',
      description: "the purge budget's window (default 3600: Fastly's hourly average of 100,000)",
      ...wholeNumber(1, 86_400),
    },
    {
      flags: '--log-requests',
      description: 'one line per request on stderr: method, path, status, latency (never headers)',
    },
  ],
  async action(_arg, opts) {
    const tokens = tokensOf(opts);
    const services = opts.services ? syntheticServices(opts.services) : DEMO_SERVICES;
    const scenarios = scenariosOf(
      opts.scenario,
      services.map((s) => s.id),
      Math.floor(Date.now() / 1000),
    );
    const faults = {
      seed: opts.seed,
      latencyMs: opts.latency,
      latencyJitterMs: opts.latencyJitter,
      rate5xx: opts.fail5xx,
      rate429: opts.fail429,
      rateReset: opts.failReset,
    };
    const { startSimulator } = await import('../../simulator/index.js');
    const sim = await startSimulator({
      ...(opts.logRequests
        ? {
            onRequest: (r: RequestEnd) =>
              process.stderr.write(
                `${new Date().toISOString()} ${r.method} ${r.path} ${r.status} ${r.ms} ms\n`,
              ),
          }
        : {}),
      ...(tokens ? { tokens } : {}),
      port: opts.port,
      host: opts.host,
      services,
      ...(opts.purgeLimit !== undefined ? { purgeLimit: opts.purgeLimit } : {}),
      ...(opts.purgeWindow !== undefined ? { purgeWindowSeconds: opts.purgeWindow } : {}),
      ...(opts.pointFields ? { pointFields: opts.pointFields.split(',').filter(Boolean) } : {}),
      faults,
    }).catch((err: unknown) => {
      throw listenError(err, opts);
    });
    for (const sc of scenarios) sim.addScenario(sc);
    process.stdout.write(`Fastly simulator listening on ${sim.url}\n`);
    process.stdout.write(`  export FASTLY_API_ENDPOINT=${sim.url}\n`);
    for (const s of sim.state.services.values())
      process.stdout.write(`  service ${s.id} (${s.domains.join(', ')})\n`);
    for (const sc of scenarios)
      process.stdout.write(`${wrapText(`  ${describeScenario(sc)}`, TEXT_WIDTH, '    ')}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await sim.close();
  },
});

export function registerSimulator(program: Command): void {
  addCommand(program, SIMULATOR);
}
