/**
 * The server's Prometheus metrics (prom-client): what `GET /metrics`
 * answers, behind the admin key. One registry per server instance, so that
 * several servers in one process (tests, a host app mounting the plugin
 * twice) do not collide; each registry also collects prom-client's process
 * defaults. Names follow Prometheus' guide: units in the name, `_total` for
 * counters.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `sw_ingest_records_total` | counter | `collection`, `result` (`stored`, `duplicate`, `rejected`) |
 * | `sw_ingest_upload_duration_seconds` | histogram | `status` (HTTP status of the upload's answer) |
 * | `sw_ingest_upload_records` | histogram | records per upload |
 * | `sw_ingest_auth_failures_total` | counter | `reason` ({@link AuthFailureReason}) |
 * | `sw_ingest_db_commit_duration_seconds` | histogram | time of one batch's database transaction |
 * | `process_*`, `nodejs_*` | prom-client defaults | |
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** Why credentials were refused: the `reason` of `sw_ingest_auth_failures_total`. */
export type AuthFailureReason =
  | 'missing-credentials'
  | 'invalid-access-token'
  | 'expired-access-token'
  | 'revoked-session'
  | 'invalid-api-key'
  | 'invalid-jwt'
  | 'jwt-not-configured'
  | 'anonymous-disabled'
  | 'invalid-refresh-token'
  | 'invalid-admin-key';

/** A verdict on one record, as `sw_ingest_records_total` counts it. */
export type RecordVerdict = 'stored' | 'duplicate' | 'rejected';

/** The metrics of one server, and what records them. */
export class IngestMetrics {
  /** The registry `GET /metrics` serializes. */
  readonly registry = new Registry();
  private readonly records = new Counter({
    name: 'sw_ingest_records_total',
    help: 'Records answered in uploads, by collection and verdict.',
    labelNames: ['collection', 'result'] as const,
    registers: [this.registry],
  });
  private readonly uploadDuration = new Histogram({
    name: 'sw_ingest_upload_duration_seconds',
    help: 'Time from an upload request to its answer, by HTTP status.',
    labelNames: ['status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly uploadRecords = new Histogram({
    name: 'sw_ingest_upload_records',
    help: 'Records per upload that passed framing checks.',
    buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000],
    registers: [this.registry],
  });
  private readonly authFailures = new Counter({
    name: 'sw_ingest_auth_failures_total',
    help: 'Requests whose credentials were refused, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly commitDuration = new Histogram({
    name: 'sw_ingest_db_commit_duration_seconds',
    help: 'Time of one upload\'s database transaction (insert and commit).',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Counts the verdicts of one upload.
   *
   * @param counts - collection → verdict → records
   */
  recordVerdicts(counts: ReadonlyMap<string, Record<RecordVerdict, number>>): void {
    for (const [collection, byResult] of counts) {
      for (const result of ['stored', 'duplicate', 'rejected'] as const) {
        if (byResult[result] > 0) this.records.inc({ collection, result }, byResult[result]);
      }
    }
  }

  /** An upload answered with `status` after `seconds`. */
  upload(status: number, seconds: number): void {
    this.uploadDuration.observe({ status: String(status) }, seconds);
  }

  /** An upload of `n` records passed framing checks. */
  batch(n: number): void {
    this.uploadRecords.observe(n);
  }

  /** One batch's database transaction took `seconds`. */
  commit(seconds: number): void {
    this.commitDuration.observe(seconds);
  }

  /** Credentials were refused for `reason`. */
  authFailure(reason: AuthFailureReason): void {
    this.authFailures.inc({ reason });
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of {@link IngestMetrics.text}. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
