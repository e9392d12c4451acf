import { Hono } from 'hono';
import { dashboardRoutes } from './dashboard/routes.js';
import { type DashboardSource, DashboardStore } from './dashboard/store.js';
import { ServerMetrics } from './metrics.js';

/** `/metrics` and the dashboard (`/ui/`) of one server, ready to mount on its HTTP app. */
export interface Observability {
  routes: Hono;
  metrics: ServerMetrics;
  store: DashboardStore;
  close(): void;
}

export function observability(
  source: DashboardSource,
  options: { processMetrics?: boolean } = {},
): Observability {
  const metrics = new ServerMetrics(options);
  const store = new DashboardStore(source);
  const routes = new Hono();
  routes.get('/metrics', async (c) => {
    c.header('content-type', metrics.contentType);
    c.header('cache-control', 'no-store');
    return c.body(await metrics.text());
  });
  routes.get('/', (c) => c.redirect('/ui/'));
  routes.route('/', dashboardRoutes(store));
  return {
    routes,
    metrics,
    store,
    close() {
      store.close();
      metrics.close();
    },
  };
}
