// The part of fastly-js (plain JavaScript, no types of its own) that test/conformance.test.ts drives.
declare module 'fastly' {
  /** An instance of one of fastly-js's generated model classes; the tests check the class name. */
  interface Model {
    constructor: { name: string };
  }
  interface PurgeResponse extends Model {
    status: string;
    id: string;
  }
  interface Meta extends Model {
    from: string;
  }
  interface Envelope<D> extends Model {
    meta: Meta;
    data: D;
  }
  interface Point extends Model {
    [field: string]: unknown;
    status_5xx: number;
    hit_ratio: number;
    edge_hit_resp_body_bytes: number;
  }
  interface UsageFigures extends Model {
    requests: number;
    bandwidth: number;
    compute_requests: number;
  }
  interface Query {
    from?: string;
    to?: string;
    by?: string;
    region?: string;
  }
  export class ApiClient {
    authenticate(token: string): void;
    buildUrl(path: string, params: unknown, reserved: unknown, basePath?: string): string;
  }
  export class PurgeApi {
    constructor(client: ApiClient);
    purgeSingleUrl(o: { cached_url: string }): Promise<PurgeResponse>;
    purgeTag(o: {
      service_id: string;
      surrogate_key: string;
      fastly_soft_purge?: number;
    }): Promise<PurgeResponse>;
    bulkPurgeTag(o: { service_id: string; purge_response: { surrogate_keys: string[] } }): Promise<unknown>;
    purgeAll(o: { service_id: string }): Promise<{ status: string }>;
  }
  export class HistoricalApi {
    constructor(client: ApiClient);
    getHistStats(o: Query): Promise<Envelope<Record<string, Point[]>>>;
    getHistStatsField(o: Query & { field: string }): Promise<Envelope<Record<string, Point[]>>>;
    getHistStatsAggregated(o: Query): Promise<Envelope<Point[]>>;
    getHistStatsService(o: Query & { service_id: string }): Promise<Envelope<Point[]>>;
    getHistStatsServiceField(o: Query & { service_id: string; field: string }): Promise<Envelope<Point[]>>;
    getRegions(): Promise<Envelope<string[]>>;
    getUsage(o: Query): Promise<Envelope<Record<string, UsageFigures>>>;
    getUsageService(o: Query): Promise<Envelope<Record<string, Record<string, UsageFigures>>>>;
    getUsageMonth(o: {
      year: string;
      month: string;
      billable_units?: boolean;
    }): Promise<Envelope<{ services?: unknown; total?: unknown }>>;
  }
  const Fastly: {
    ApiClient: typeof ApiClient;
    PurgeApi: typeof PurgeApi;
    HistoricalApi: typeof HistoricalApi;
  };
  export default Fastly;
}
