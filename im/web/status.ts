// Status page: polls /metrics (admin token from the web client's login) and draws live uPlot charts of the key figures.
import uPlot from 'uplot';

const POLL_MS = 2000;
const KEEP = 300;
const token = localStorage.getItem('im.token') ?? '';

type Sample = Map<string, number>;

/** Parses Prometheus text: "name{labels} value" → map keyed by "name{labels}". */
function parse(text: string): Sample {
  const m: Sample = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

const get = (s: Sample, k: string) => s.get(k) ?? 0;
const rate = (a: Sample, b: Sample, k: string, dt: number) => Math.max(0, (get(b, k) - get(a, k)) / dt);
const avgOf = (a: Sample, b: Sample, name: string) => {
  const n = get(b, `${name}_count`) - get(a, `${name}_count`);
  return n > 0 ? (get(b, `${name}_sum`) - get(a, `${name}_sum`)) / n : 0;
};

const CHARTS: { title: string; series: { label: string; value: (a: Sample, b: Sample, dt: number) => number }[] }[] = [
  { title: 'messages / s', series: [
    { label: 'received', value: (a, b, dt) => rate(a, b, 'im_messages_received_total', dt) },
    { label: 'delivered', value: (a, b, dt) => rate(a, b, 'im_messages_delivered_total', dt) },
  ] },
  { title: 'latency (ms, mean per interval)', series: [
    { label: 'end to end', value: (a, b) => avgOf(a, b, 'im_message_e2e_seconds') * 1000 },
    { label: 'commit', value: (a, b) => avgOf(a, b, 'im_commit_seconds') * 1000 },
    { label: 'event-loop lag p99', value: (_a, b) => get(b, 'nodejs_eventloop_lag_p99_seconds') * 1000 },
  ] },
  { title: 'connections and batch size', series: [
    { label: 'connections', value: (_a, b) => get(b, 'im_connections') },
    { label: 'users online', value: (_a, b) => get(b, 'im_users_online') },
    { label: 'ops per commit', value: (a, b) => avgOf(a, b, 'im_commit_batch_size') },
  ] },
  { title: 'resources', series: [
    { label: 'RSS MB', value: (_a, b) => get(b, 'process_resident_memory_bytes') / 1048576 },
    { label: 'load 1m', value: (_a, b) => get(b, 'im_system_load1') },
    { label: 'disk KB/s written', value: (a, b, dt) => rate(a, b, 'im_disk_write_bytes', dt) / 1024 },
  ] },
];

const COLORS = ['#2a6', '#26c', '#c62'];
const data: number[][][] = CHARTS.map((c) => [[], ...c.series.map(() => [])]);
const plots = CHARTS.map((c) => {
  const el = document.createElement('div');
  document.getElementById('charts')!.append(el);
  return new uPlot({
    title: c.title, width: Math.min(560, window.innerWidth - 40), height: 220,
    series: [{}, ...c.series.map((s, i) => ({ label: s.label, stroke: COLORS[i], width: 2 }))],
  }, [[], ...c.series.map(() => [])] as any, el);
});

function figures(s: Sample): void {
  const list: [string, string][] = [
    ['messages received', String(get(s, 'im_messages_received_total'))],
    ['messages delivered', String(get(s, 'im_messages_delivered_total'))],
    ['connections', String(get(s, 'im_connections'))],
    ['RSS', `${(get(s, 'process_resident_memory_bytes') / 1048576).toFixed(1)} MB`],
    ['disk written', `${(get(s, 'im_disk_write_bytes') / 1048576).toFixed(1)} MB`],
    ['load 1m', get(s, 'im_system_load1').toFixed(2)],
  ];
  document.getElementById('figures')!.innerHTML = list.map(([k, v]) => `<div class="fig">${k}<b>${v}</b></div>`).join('');
}

let prev: { at: number; s: Sample } | null = null;
async function poll(): Promise<void> {
  try {
    const res = await fetch('/metrics', { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(res.status === 401 || res.status === 403 ? 'log in as an admin on the chat page first' : `HTTP ${res.status}`);
    const s = parse(await res.text());
    const at = Date.now() / 1000;
    figures(s);
    if (prev) {
      const dt = at - prev.at;
      CHARTS.forEach((c, i) => {
        const d = data[i];
        d[0].push(at);
        c.series.forEach((ser, j) => d[j + 1].push(ser.value(prev!.s, s, dt)));
        if (d[0].length > KEEP) d.forEach((col) => col.shift());
        plots[i].setData(d as any);
      });
    }
    prev = { at, s };
    document.getElementById('error')!.textContent = '';
  } catch (err: any) {
    document.getElementById('error')!.textContent = err.message;
  }
}

poll();
setInterval(poll, POLL_MS);
