import { Hono } from 'hono';
import { dashboardRoutes } from './dashboard/routes.js';
import { type DashboardSource, DashboardStore, type DashboardStoreOptions } from './dashboard/store.js';
import type { RouteModule } from './app.js';
import { ServerMetrics } from './metrics.js';

/** `/metrics` and the dashboard (`/ui/`) of one server, mounted on its HTTP app. */
export interface Observability {
  routes: RouteModule;
  metrics: ServerMetrics;
  store: DashboardStore;
  close(): void;
}

export function observability(
  source: DashboardSource,
  options: { processMetrics?: boolean; dashboard?: DashboardStoreOptions } = {},
): Observability {
  const metrics = new ServerMetrics(options);
  const store = new DashboardStore(source, options.dashboard);
  const sub = new Hono();
  sub.get('/metrics', async (c) => {
    c.header('content-type', metrics.contentType);
    c.header('cache-control', 'no-store');
    return c.body(await metrics.text());
  });
  sub.get('/', (c) => c.redirect('/ui/'));
  sub.route('/', dashboardRoutes(store));
  return {
    routes: (app) => {
      app.route('/', sub);
    },
    metrics,
    store,
    close() {
      store.close();
      metrics.close();
    },
  };
}
