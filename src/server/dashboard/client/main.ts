import 'uplot/dist/uPlot.min.css';
import './style.css';
import htm from 'htm';
import { h, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type {
  DashboardState,
  ExecutionDetail,
  ExecutionView,
  FlowView,
  InputView,
  PurgeBudgetPanelView,
  TriggerView,
} from '../model.js';
import { TriggerChart } from './chart.js';

const html = htm.bind(h);

function ago(iso: string | undefined, now: number): string {
  if (!iso) return '—';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 0) return `in ${fmtSeconds(-s)}`;
  return `${fmtSeconds(s)} ago`;
}

function fmtSeconds(s: number): string {
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

function duration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Server-sent events with the full state; falls back to polling while the stream is down. */
function useDashboard(): { state: DashboardState | undefined; live: boolean } {
  const [state, setState] = useState<DashboardState>();
  const [live, setLive] = useState(false);
  useEffect(() => {
    const events = new EventSource('/ui/api/events');
    events.addEventListener('state', (e) => {
      setState(JSON.parse((e as MessageEvent<string>).data) as DashboardState);
      setLive(true);
    });
    events.onerror = () => setLive(false);
    const poll = setInterval(() => {
      if (events.readyState === EventSource.OPEN) return;
      fetch('/ui/api/state')
        .then((r) => r.json() as Promise<DashboardState>)
        .then(setState)
        .catch(() => undefined);
    }, 3000);
    return () => {
      events.close();
      clearInterval(poll);
    };
  }, []);
  return { state, live };
}

/** A time as an ISO-8601 UTC instant to the second, as every time on the page. */
const iso = (text: string) => text.replace(/\.\d{3}Z$/, 'Z');

/** A relative time ("in 40 s"), with the instant (UTC ISO) on hover. */
function When({ at, now, testid }: { at: string | undefined; now: number; testid?: string }) {
  return html`<span data-testid=${testid} title=${at ? iso(at) : undefined}>${ago(at, now)}</span>`;
}

/**
 * The trigger's badge. A CROSSING trigger that fired is not switched off: it waits for the
 * condition to be false again before it can fire again, and says so.
 */
function triggerStatus(s: TriggerView['state']): { css: string; text: string; title: string } {
  if (s.stopped)
    return {
      css: 'stopped',
      text: 'stopped (stopAfter)',
      title: 'stopped by stopAfter; restart after fixing',
    };
  if (s.running) return { css: 'running', text: 'running', title: 'its execution is running' };
  if (s.armed) return { css: 'armed', text: 'armed', title: 'fires when the condition becomes true' };
  return {
    css: 'waiting',
    text: 'fired — waiting to re-arm',
    title: 'CROSSING: fires again once the condition has been false (the value recovered)',
  };
}

function TriggerCard({ t, now }: { t: TriggerView; now: number }) {
  const s = t.state;
  const status = triggerStatus(s);
  return html`<div class="trigger" data-testid=${`trigger-${t.key}`}>
    <div class="trigger-head">
      <strong>${t.id}</strong> <span class="muted">${t.type.split('.').pop()}</span>
      <span class=${`badge ${status.css}`} data-testid="trigger-status" title=${status.title}
        >${status.text}</span
      >
    </div>
    <div class="muted">
      ${t.aggregation}(${t.field}) over ${t.window} ${t.comparator} ${t.threshold}, every ${t.interval}, fires
      on ${t.fireOn}
    </div>
    <dl class="facts">
      <dt>last value</dt>
      <dd data-testid="last-value">${s.lastValue ?? '—'}</dd>
      <dt>last evaluation</dt>
      <dd><${When} at=${s.lastEvaluation} now=${now} /></dd>
      <dt>next due</dt>
      <dd><${When} at=${s.nextDue} now=${now} testid="next-due" /></dd>
      <dt>fired</dt>
      <dd data-testid="fired">${s.fired}</dd>
      ${
        s.lastError
          ? html`<dt>last error</dt>
              <dd class="error" data-testid="last-error">${s.lastError}</dd>`
          : null
      }
    </dl>
    <${TriggerChart} trigger=${t} />
  </div>`;
}

function inputValue(i: InputView, raw: FormDataEntryValue | null, checked: boolean): unknown {
  if (i.type === 'BOOLEAN') return checked;
  const text = typeof raw === 'string' ? raw : '';
  if (text === '') return undefined;
  if (i.type === 'ARRAY' || i.type === 'JSON') {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function RunForm({ flow }: { flow: FlowView }) {
  const [result, setResult] = useState<{ ok: boolean; text: string }>();
  const [busy, setBusy] = useState(false);
  const submit = (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const inputs: Record<string, unknown> = {};
    for (const i of flow.inputs) {
      const box = form.elements.namedItem(i.id) as HTMLInputElement | null;
      const v = inputValue(i, data.get(i.id), box?.checked ?? false);
      if (v !== undefined) inputs[i.id] = v;
    }
    setBusy(true);
    // Kestra's executions API, the same route a CMS or a deploy pipeline uses.
    fetch(`/api/v1/main/executions/${encodeURIComponent(flow.namespace)}/${encodeURIComponent(flow.id)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(inputs),
    })
      .then(async (r) => {
        const body = (await r.json()) as { id?: string; message?: string };
        setResult(
          r.ok
            ? { ok: true, text: `started execution ${body.id}` }
            : { ok: false, text: body.message ?? r.statusText },
        );
      })
      .catch((err: unknown) => setResult({ ok: false, text: String(err) }))
      .finally(() => setBusy(false));
  };
  const field = (i: InputView) => {
    const common = { name: i.id, id: `${flow.id}-${i.id}`, 'data-testid': `input-${i.id}` };
    const def =
      i.defaults === undefined
        ? ''
        : typeof i.defaults === 'string'
          ? i.defaults
          : JSON.stringify(i.defaults);
    if (i.type === 'BOOLEAN')
      return html`<input type="checkbox" ...${common} defaultChecked=${i.defaults === true} />`;
    if (i.type === 'SELECT' && i.values)
      return html`<select ...${common}>
        ${i.values.map((v) => html`<option defaultSelected=${v === i.defaults}>${v}</option>`)}
      </select>`;
    // An ARRAY is a JSON list here as in Kestra, `--input` and the API: `a, b` is refused.
    if (i.type === 'ARRAY' || i.type === 'JSON')
      return html`<textarea
        ...${common}
        rows="2"
        placeholder=${i.type === 'ARRAY' ? '["a", "b"]' : '{}'}
        defaultValue=${def}
      ></textarea>`;
    const type =
      i.type === 'INT' || i.type === 'FLOAT' ? 'number' : i.type === 'SECRET' ? 'password' : 'text';
    return html`<input
      type=${type}
      step=${i.type === 'FLOAT' ? 'any' : undefined}
      ...${common}
      defaultValue=${def}
    />`;
  };
  return html`<form class="run" onSubmit=${submit} data-testid=${`run-${flow.namespace}.${flow.id}`}>
    ${flow.inputs.map(
      (i) =>
        html`<label for=${`${flow.id}-${i.id}`}>
            ${i.id}${i.required && i.defaults === undefined ? ' *' : ''}
            <span class="muted">${i.type}${i.itemType ? ` of ${i.itemType}` : ''}</span>
            ${i.description ? html`<span class="muted"> — ${i.description}</span>` : null}
          </label>
          ${field(i)}`,
    )}
    <button type="submit" disabled=${busy}>Run now</button>
    ${result ? html`<span class=${result.ok ? 'ok' : 'error'} data-testid="run-result">${result.text}</span>` : null}
  </form>`;
}

function FlowCard({ flow, now }: { flow: FlowView; now: number }) {
  return html`<section class="flow" data-testid=${`flow-${flow.namespace}.${flow.id}`}>
    <h3>${flow.namespace}.<b>${flow.id}</b></h3>
    ${flow.description ? html`<p class="muted">${flow.description}</p>` : null}
    ${flow.triggers.map((t) => html`<${TriggerCard} t=${t} now=${now} />`)}
    ${flow.otherTriggers.map(
      (t) =>
        html`<div class="muted" data-testid=${`other-trigger-${t.id}`}>
          trigger ${t.id}: ${t.type.split('.').pop()}${t.cron ? html` <code>${t.cron}</code>` : null}
          ${t.disabled ? ' (disabled)' : null}
          ${
            t.nextRun
              ? html` — next run${' '}<span data-testid="next-run">${iso(t.nextRun)}</span
                  >${' '}(${ago(t.nextRun, now)})`
              : null
          }
        </div>`,
    )}
    <${RunForm} flow=${flow} />
  </section>`;
}

function json(v: unknown): string {
  return JSON.stringify(v, null, 2);
}

/** Milliseconds of Kestra's ISO-8601 duration (`PT1.250S`), as the execution's state carries it. */
function durationMs(iso: string | undefined): number | undefined {
  const s = iso === undefined ? undefined : /^PT(\d+(?:\.\d+)?)S$/.exec(iso)?.[1];
  return s === undefined ? undefined : Math.round(Number(s) * 1000);
}

/** Outputs can be megabytes (a day of stats by minute): the page shows their start. */
const SHOWN_CHARS = 16 * 1024;
function clipped(v: unknown, id: string): string {
  const text = json(v);
  return text.length <= SHOWN_CHARS
    ? text
    : `${text.slice(0, SHOWN_CHARS)}\n… ${Math.round(text.length / 1024)} KB: GET /api/v1/main/executions/${id} returns them all`;
}

/**
 * The execution as Kestra's API answers it (GET …/executions/{id}: the flow's outputs, each task run
 * with its outputs), read when the row opens and again when its state changes.
 */
function useDetail(id: string, open: boolean, state: string): ExecutionDetail | string | undefined {
  const [detail, setDetail] = useState<ExecutionDetail | string | undefined>(undefined);
  useEffect(() => {
    if (!open) return;
    let live = true;
    void fetch(`/api/v1/main/executions/${encodeURIComponent(id)}`)
      .then(async (r) =>
        r.ok ? ((await r.json()) as ExecutionDetail) : `GET /api/v1/main/executions/${id}: ${r.status}`,
      )
      .catch((err: unknown) => String(err))
      .then((d) => live && setDetail(d));
    return () => {
      live = false;
    };
  }, [id, open, state]);
  return detail;
}

function Detail({ detail, id }: { detail: ExecutionDetail | string | undefined; id: string }) {
  if (detail === undefined) return html`<p class="muted">Reading the execution…</p>`;
  if (typeof detail === 'string') return html`<p class="error">${detail}</p>`;
  return html`${
      detail.outputs
        ? html`<h4>Outputs</h4>
            <pre data-testid="outputs">${clipped(detail.outputs, id)}</pre>`
        : null
    }
    <h4>Task runs</h4>
    <table class="taskruns" data-testid="taskruns">
      ${(detail.taskRunList ?? []).map(
        (r) =>
          html`<tr data-task=${r.taskId} data-state=${r.state.current}>
            <td>${r.taskId}${r.value !== undefined ? ` [${r.value}]` : ''}</td>
            <td><span class=${`badge ${r.state.current.toLowerCase()}`}>${r.state.current}</span></td>
            <td>${r.attempts.length} attempt${r.attempts.length === 1 ? '' : 's'}</td>
            <td>${r.outputs !== undefined ? html`<pre>${clipped(r.outputs, id)}</pre>` : null}</td>
          </tr>`,
      )}
    </table>`;
}

/** One execution in Kestra's shape (as the API answers it), its detail opened on a click. */
function ExecutionRow({ ex }: { ex: ExecutionView }) {
  const [open, setOpen] = useState(false);
  const state = ex.state.current;
  const detail = useDetail(ex.id, open, state);
  const triggerId = ex.trigger?.id;
  const value = ex.trigger?.variables?.value;
  return html`<tbody
    data-testid="execution"
    data-id=${ex.id}
    data-state=${state}
    data-flow=${`${ex.namespace}.${ex.flowId}`}
  >
    <tr class="row" onClick=${() => setOpen(!open)}>
      <td><span class=${`badge ${state.toLowerCase()}`}>${state}</span></td>
      <td class="wrap">${ex.namespace}.<wbr />${ex.flowId}</td>
      <td>${iso(ex.state.startDate ?? '')}</td>
      <td>${duration(durationMs(ex.state.duration))}</td>
      <td class="wrap">
        ${triggerId ? `${triggerId}${value !== undefined ? ` = ${typeof value === 'string' ? value : JSON.stringify(value)}` : ''}` : 'manual / API'}
      </td>
      <td class="mono" title=${ex.id}>${ex.id.slice(0, 8)}…</td>
    </tr>
    ${
      open
        ? html`<tr class="detail">
            <td colspan="6">
              ${ex.error ? html`<p class="error">${ex.error}</p>` : null}
              ${
                ex.trigger?.variables
                  ? html`<h4>Trigger variables</h4>
                      <pre>${json(ex.trigger.variables)}</pre>`
                  : null
              }
              <${Detail} detail=${detail} id=${ex.id} />
              <h4>Logs</h4>
              ${
                ex.logs.length
                  ? html`<pre class="logs" data-testid="logs">
${ex.logs.map((l) => `${l.time} ${l.level.padEnd(5)} ${l.task ? `[${l.task}] ` : ''}${l.message}\n`)}</pre>`
                  : html`<p class="muted">
                      No log lines kept (executions before this server started keep none).
                    </p>`
              }
            </td>
          </tr>`
        : null
    }
  </tbody>`;
}

function Executions({ executions }: { executions: ExecutionView[] }) {
  const [flow, setFlow] = useState('');
  const [state, setState] = useState('');
  const flows = [...new Set(executions.map((e) => `${e.namespace}.${e.flowId}`))].sort();
  const states = [...new Set(executions.map((e) => e.state.current))].sort();
  const shown = executions.filter(
    (e) => (!flow || `${e.namespace}.${e.flowId}` === flow) && (!state || e.state.current === state),
  );
  return html`<section class="executions">
    <h2>Executions</h2>
    <div class="filters">
      <label
        >Flow
        <select
          data-testid="filter-flow"
          onChange=${(e: Event) => setFlow((e.target as HTMLSelectElement).value)}
        >
          <option value="">all</option>
          ${flows.map((f) => html`<option selected=${f === flow}>${f}</option>`)}
        </select></label
      >
      <label
        >State
        <select
          data-testid="filter-state"
          onChange=${(e: Event) => setState((e.target as HTMLSelectElement).value)}
        >
          <option value="">all</option>
          ${states.map((s) => html`<option selected=${s === state}>${s}</option>`)}
        </select></label
      >
      <span class="muted">${shown.length} of ${executions.length}</span>
    </div>
    <table>
      <thead>
        <tr>
          <th>state</th>
          <th>flow</th>
          <th>started (UTC)</th>
          <th>duration</th>
          <th>trigger</th>
          <th>id</th>
        </tr>
      </thead>
      ${shown.map((ex) => html`<${ExecutionRow} key=${ex.id} ex=${ex} />`)}
    </table>
  </section>`;
}

function PurgeBudgets({ budgets, now }: { budgets: PurgeBudgetPanelView[]; now: number }) {
  if (!budgets.length) return null;
  return html`<section class="budgets" data-testid="purge-budgets">
    <h2>Purge budget</h2>
    ${budgets.map(
      (b) =>
        html`<dl class="facts" data-testid=${`budget-${b.endpoint}-${b.account}`}>
          <dt>account</dt>
          <dd>${b.endpoint} #${b.account}</dd>
          <dt>last hour</dt>
          <dd>${b.usedLastHour.toLocaleString('en')} of ${b.perHour.toLocaleString('en')} purges</dd>
          ${
            b.remaining !== undefined
              ? html`<dt>Fastly says</dt>
                  <dd>
                    ${b.remaining.toLocaleString('en')}
                    remain${
                      b.resetAt !== undefined
                        ? `, reset in ${Math.max(0, Math.ceil((b.resetAt - now) / 1000))} s`
                        : ''
                    }
                  </dd>`
              : null
          }
          <dt>now</dt>
          <dd>${b.inFlight} in flight, ${b.waiting} request(s) waiting</dd>
          <dt>since start</dt>
          <dd>${b.waits} waited for budget, ${b.rateLimited} got 429</dd>
        </dl>`,
    )}
  </section>`;
}

function App() {
  const { state, live } = useDashboard();
  if (!state) return html`<p>Loading…</p>`;
  return html`<header>
      <h1>kestra-fastly</h1>
      <span class=${`badge ${live ? 'live' : 'offline'}`} data-testid="live"
        >${live ? 'live' : 'reconnecting'}</span
      >
    </header>
    <main>
      <section class="flows">
        <h2>Flows</h2>
        ${state.flows.map((f) => html`<${FlowCard} key=${`${f.namespace}.${f.id}`} flow=${f} now=${state.now} />`)}
      </section>
      <${PurgeBudgets} budgets=${state.purgeBudgets ?? []} now=${state.now} />
      <${Executions} executions=${state.executions} />
    </main>`;
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(html`<${App} />`, root);
}
