// Prometheus metrics (prom-client): message counters, latency histograms, connections, batches, process/system figures.
import client from 'prom-client';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const received = new client.Counter({ name: 'im_messages_received_total', help: 'Messages accepted from clients (committed)', registers: [registry] });
  const delivered = new client.Counter({ name: 'im_messages_delivered_total', help: 'Message frames pushed to recipient sessions (live or sync)', registers: [registry] });
  const e2e = new client.Histogram({
    name: 'im_message_e2e_seconds', help: 'From frame received to ack and pushes written to sockets', registers: [registry],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  const commit = new client.Histogram({
    name: 'im_commit_seconds', help: 'Duration of one batch transaction including its fsync', registers: [registry],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
  });
  const commitSql = new client.Histogram({
    name: 'im_commit_sql_seconds', help: 'Time one batch transaction held the event loop (SQL work and COMMIT, before the async fsync)', registers: [registry],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
  });
  const batchSize = new client.Histogram({
    name: 'im_commit_batch_size', help: 'Operations per committed batch', registers: [registry],
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
  });
  const readPauses = new client.Counter({ name: 'im_read_pauses_total', help: 'Times the server stopped reading from clients because writes queued faster than it could commit them (overload)', registers: [registry] });
  const commitBusy = new client.Counter({ name: 'im_commit_busy_total', help: 'Batch starts that found the write lock held by another process (the admin CLI) and were retried', registers: [registry] });
  const connections = new client.Gauge({ name: 'im_connections', help: 'Open WebSocket connections', registers: [registry] });
  const online = new client.Gauge({ name: 'im_users_online', help: 'Users with at least one session', registers: [registry] });
  const errors = new client.Counter({ name: 'im_error_frames_total', help: 'Error frames sent, by code', labelNames: ['code'], registers: [registry] });
  new client.Gauge({
    name: 'im_system_load1', help: 'System load average over 1 minute', registers: [registry],
    collect() { this.set(loadavg()[0]); },
  });
  new client.Gauge({
    name: 'im_disk_write_bytes', help: 'Bytes this process caused to be written to storage (/proc/self/io write_bytes)', registers: [registry],
    collect() { this.set(diskWriteBytes()); },
  });
  return { registry, received, delivered, e2e, commit, commitSql, batchSize, readPauses, commitBusy, connections, online, errors };
}

export type Metrics = ReturnType<typeof createMetrics>;

export function diskWriteBytes(): number {
  try {
    const m = /write_bytes:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}
