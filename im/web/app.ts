// Web client: login, conversation list with unread counts, chat view, receipts, typing, reconnect with cursor sync.
import { login, logout, register, ImConnection, type WireConv, type WireMessage } from '../src/client.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const base = location.origin;
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;

interface ConvState extends WireConv { messages: Map<number, WireMessage>; receiptsBy: Map<string, { delivered: number; read: number }>; loaded: boolean }

let token = localStorage.getItem('im.token') ?? '';
let me = localStorage.getItem('im.user') ?? '';
let conn: ImConnection | null = null;
let cursor: number | undefined;
let current = 0;
let retry = 0;
const convs = new Map<number, ConvState>();
const pending = new Map<string, { conv: number; body: string }>();
const typingTimers = new Map<string, number>();
let lastTypingSent = 0;

function setState(text: string): void { $('conn-state').textContent = text; }

function showLogin(msg = ''): void {
  $('app').hidden = true; $('login').hidden = false; $('login-error').textContent = msg;
}

function adopt(c: WireConv): ConvState {
  const old = convs.get(c.conv);
  const st: ConvState = { ...(old ?? { messages: new Map(), loaded: false }), ...c, receiptsBy: old?.receiptsBy ?? new Map() } as ConvState;
  for (const r of c.receipts ?? []) st.receiptsBy.set(r.user, { delivered: r.delivered_seq, read: r.read_seq });
  convs.set(c.conv, st);
  return st;
}

function renderConvs(): void {
  const ul = $('convs');
  ul.textContent = '';
  for (const c of [...convs.values()].sort((a, b) => b.last_seq - a.last_seq || b.conv - a.conv)) {
    const li = document.createElement('li');
    li.className = 'conv-item' + (c.conv === current ? ' active' : '');
    li.dataset.conv = String(c.conv);
    const name = document.createElement('span');
    name.className = 'conv-name';
    name.textContent = c.kind === 'direct' ? c.members.filter((m) => m !== me).join(', ') || me : c.name;
    const badge = document.createElement('span');
    badge.className = 'unread';
    badge.textContent = c.unread > 0 ? String(c.unread) : '';
    li.append(name, badge);
    li.onclick = () => openConv(c.conv);
    ul.append(li);
  }
}

function statusOf(c: ConvState, m: WireMessage): string {
  const others = [...c.receiptsBy.entries()].filter(([u]) => u !== me);
  if (others.length && others.every(([, r]) => r.read >= m.seq)) return 'read';
  if (others.length && others.every(([, r]) => r.delivered >= m.seq || r.read >= m.seq)) return 'delivered';
  return 'sent';
}

function renderMessages(): void {
  const c = convs.get(current);
  const ol = $('messages');
  const atBottom = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 40;
  ol.textContent = '';
  if (!c) return;
  const list = [...c.messages.values()].sort((a, b) => a.seq - b.seq);
  for (const m of list) {
    const li = document.createElement('li');
    li.className = 'msg' + (m.from === me ? ' mine' : '');
    li.dataset.seq = String(m.seq);
    if (c.kind === 'group' && m.from !== me) {
      const from = document.createElement('div'); from.className = 'from'; from.textContent = m.from; li.append(from);
    }
    const body = document.createElement('span'); body.className = 'body'; body.textContent = m.body; li.append(body);
    if (m.from === me) { const st = document.createElement('span'); st.className = 'status'; st.textContent = statusOf(c, m); li.append(st); }
    ol.append(li);
  }
  for (const [cid, p] of pending) {
    if (p.conv !== current) continue;
    const li = document.createElement('li'); li.className = 'msg mine pending'; li.dataset.clientId = cid;
    const body = document.createElement('span'); body.className = 'body'; body.textContent = p.body;
    const st = document.createElement('span'); st.className = 'status'; st.textContent = 'sending…';
    li.append(body, st); ol.append(li);
  }
  $('older').hidden = !(list.length && list[0].seq > 1);
  if (atBottom || list.length < 30) ol.scrollTop = ol.scrollHeight;
}

function markRead(c: ConvState): void {
  if (!conn || document.hidden || c.conv !== current || c.last_seq <= c.read_seq) return;
  c.read_seq = c.last_seq; c.unread = 0;
  conn.receipt(c.conv, 'read', c.last_seq).catch(() => {});
  renderConvs();
}

async function openConv(id: number): Promise<void> {
  current = id;
  const c = convs.get(id);
  if (!c || !conn) return;
  $('app').classList.add('in-chat');
  $('chat-title').textContent = c.kind === 'direct' ? c.members.filter((m) => m !== me).join(', ') : `${c.name} (${c.members.length})`;
  ($('composer') as HTMLInputElement).disabled = false; ($('send') as HTMLButtonElement).disabled = false;
  if (!c.loaded) {
    const h = await conn.history(id, undefined, 50);
    for (const m of h.messages) c.messages.set(m.seq, m);
    c.loaded = true;
  }
  renderConvs(); renderMessages(); markRead(c);
  const others = c.members.filter((m) => m !== me);
  if (c.kind === 'direct' && others.length) {
    const [p] = await conn.presence(others);
    $('presence').textContent = p?.online ? 'online' : p?.last_seen ? `last seen ${new Date(p.last_seen).toLocaleString()}` : '';
  } else $('presence').textContent = '';
}

function onMessage(m: WireMessage): void {
  let c = convs.get(m.conv);
  if (!c) { refreshConvs(); return; }
  if (c.loaded || m.conv === current) c.messages.set(m.seq, m);
  if (m.seq > c.last_seq) {
    c.last_seq = m.seq;
    if (m.from === me) c.read_seq = Math.max(c.read_seq, m.seq);
  }
  c.unread = Math.max(0, c.last_seq - c.read_seq);
  if (m.from !== me) {
    if (m.conv === current && !document.hidden) markRead(c);
    else conn?.receipt(m.conv, 'delivered', m.seq).catch(() => {});
  }
  for (const [cid, p] of pending) if (cid === m.client_id && p.conv === m.conv) pending.delete(cid);
  renderConvs();
  if (m.conv === current) renderMessages();
}

async function refreshConvs(): Promise<void> {
  if (!conn) return;
  for (const c of await conn.convs()) adopt(c);
  renderConvs();
  if (current) renderMessages();
}

async function sendMessage(conv: number, body: string, clientId: string): Promise<void> {
  pending.set(clientId, { conv, body });
  renderMessages();
  if (!conn) return;
  try {
    const ack = await conn.send(conv, body, clientId);
    pending.delete(clientId);
    onMessage({ mid: ack.mid, conv, seq: ack.seq, from: me, body, ts: ack.ts, client_id: clientId });
  } catch (err: any) {
    if (err.code !== 'closed') { pending.delete(clientId); alert(err.message); renderMessages(); }
  }
}

async function connect(): Promise<void> {
  setState('connecting…');
  try {
    conn = await ImConnection.connect(wsUrl, token, {
      cursor,
      setup: (c) => {
        c.on('msg', (m) => onMessage(m));
        c.on('sync', (f) => { for (const m of f.messages) onMessage(m); });
        c.on('synced', () => setState('online'));
        c.on('receipt', (r) => {
          const cv = convs.get(r.conv); if (!cv) return;
          const cur = cv.receiptsBy.get(r.user) ?? { delivered: 0, read: 0 };
          if (r.kind === 'read') { cur.read = Math.max(cur.read, r.seq); cur.delivered = Math.max(cur.delivered, r.seq); } else cur.delivered = Math.max(cur.delivered, r.seq);
          cv.receiptsBy.set(r.user, cur);
          if (r.user === me && r.kind === 'read') { cv.read_seq = Math.max(cv.read_seq, r.seq); cv.unread = Math.max(0, cv.last_seq - cv.read_seq); renderConvs(); }
          if (r.conv === current) renderMessages();
        });
        c.on('typing', (t) => {
          if (t.conv !== current) return;
          $('typing').textContent = t.on ? `${t.user} is typing…` : '';
          clearTimeout(typingTimers.get(t.user));
          typingTimers.set(t.user, window.setTimeout(() => { $('typing').textContent = ''; }, 4000));
        });
        c.on('presence', (p) => {
          const cv = convs.get(current);
          if (cv?.kind === 'direct' && cv.members.includes(p.user)) $('presence').textContent = p.online ? 'online' : 'offline';
        });
        c.on('conv_update', () => refreshConvs());
        c.on('conv_removed', (f) => { convs.delete(f.conv); if (current === f.conv) current = 0; renderConvs(); renderMessages(); });
      },
    });
  } catch (err: any) {
    conn = null;
    if (err.code === 'auth_failed') { localStorage.removeItem('im.token'); return showLogin('session expired, log in again'); }
    return scheduleReconnect();
  }
  retry = 0;
  if (cursor === undefined) setState('online');
  conn.closed.then(() => { if (conn) { cursor = conn.cursor; conn = null; scheduleReconnect(); } });
  await refreshConvs();
  for (const [cid, p] of [...pending]) sendMessage(p.conv, p.body, cid);
  if (current) openConv(current);
}

function scheduleReconnect(): void {
  setState('offline, reconnecting…');
  const delay = Math.min(10000, 300 * 2 ** retry++);
  setTimeout(() => { if (token) connect(); }, delay);
}

function start(): void {
  $('login').hidden = true; $('app').hidden = false; $('me').textContent = me;
  connect();
}

// login, or (with an invite code) create the account: both answer with a session token
async function enter(how: 'login' | 'register'): Promise<void> {
  const name = ($('login-name') as HTMLInputElement).value.trim(), password = ($('login-password') as HTMLInputElement).value;
  const invite = ($('register-invite') as HTMLInputElement).value.trim() || undefined; // none: open registration
  if (how === 'register' && (!name || !password)) { $('login-error').textContent = 'a new account needs a user name and a password'; return; }
  $('login-error').textContent = '';
  try {
    const r = how === 'login' ? await login(base, name, password) : await register(base, name, password, invite);
    token = r.token; me = r.user;
    localStorage.setItem('im.token', token); localStorage.setItem('im.user', me);
    if (location.hash.startsWith('#invite=')) history.replaceState(null, '', location.pathname);
    start();
  } catch (err: any) { $('login-error').textContent = err.code === 'auth_failed' ? 'wrong user name or password' : String(err.message).replace(/^[a-z_]+: /, ''); }
}
// Enter while the sign-up part is open creates the account; only a real click on "Log in" logs in then
let loginClicked = false;
$('login-submit').addEventListener('click', (e) => { loginClicked = (e as MouseEvent).detail > 0; });
$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const signUp = ($('register') as HTMLDetailsElement).open && !loginClicked;
  loginClicked = false;
  enter(signUp ? 'register' : 'login');
});
$('register-submit').addEventListener('click', () => enter('register'));
// an invite link (http://pi:8080/#invite=CODE) opens the sign-up part with the code filled in
const linkInvite = /^#invite=([\w-]+)$/.exec(location.hash)?.[1];
if (linkInvite) { ($('register-invite') as HTMLInputElement).value = linkInvite; ($('register') as HTMLDetailsElement).open = true; }
$('logout').addEventListener('click', async () => {
  const t = token; token = ''; localStorage.removeItem('im.token');
  const c = conn; conn = null; c?.close();
  await logout(base, t).catch(() => {});
  convs.clear(); current = 0; cursor = undefined;
  showLogin();
});
$('composer-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $('composer') as HTMLInputElement;
  const body = input.value.trim();
  if (!body || !current) return;
  input.value = '';
  sendMessage(current, body, `${me}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`);
});
$('composer').addEventListener('input', () => {
  if (conn && current && Date.now() - lastTypingSent > 2000) { lastTypingSent = Date.now(); conn.typing(current); }
});
$('new-chat').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('new-chat-user') as HTMLInputElement;
  try { const c = adopt(await conn!.direct(input.value.trim())); input.value = ''; renderConvs(); openConv(c.conv); } catch (err: any) { alert(err.message); }
});
$('new-group').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = ($('new-group-name') as HTMLInputElement).value.trim();
  const members = ($('new-group-members') as HTMLInputElement).value.split(',').map((s) => s.trim()).filter(Boolean);
  try { const c = adopt(await conn!.createGroup(name, members)); renderConvs(); openConv(c.conv); } catch (err: any) { alert(err.message); }
});
$('older').addEventListener('click', async () => {
  const c = convs.get(current); if (!c || !conn) return;
  const first = Math.min(...c.messages.keys());
  const h = await conn.history(current, first, 50);
  for (const m of h.messages) c.messages.set(m.seq, m);
  const ol = $('messages'); const prev = ol.scrollHeight;
  renderMessages(); ol.scrollTop = ol.scrollHeight - prev;
});
$('back').addEventListener('click', () => { $('app').classList.remove('in-chat'); current = 0; renderConvs(); });
document.addEventListener('visibilitychange', () => { const c = convs.get(current); if (c) markRead(c); });

if (token) start(); else showLogin();
