// Real headless Chromium: two browser sessions log in, chat, see unread counts and read receipts, and resync after a server restart; an invite link signs up.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestServer, addUsers, admin, IM_DIR, NODE, type TestServer } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
let srv: TestServer;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  execFileSync(NODE, [join(IM_DIR, 'scripts/build-web.mjs')], { stdio: 'pipe' });
  srv = await startTestServer();
  addUsers(srv, ['alice', 'bob']);
  if (admin(srv, ['users', 'add', 'root', '--admin'], 'pw').code !== 0) throw new Error('cannot add admin');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'], // playwright itself gives each launch a fresh temporary profile
  });
}, 60000);
afterAll(async () => { await browser?.close(); await srv?.stop(); });

async function loggedIn(name: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1000, height: 700 } })).newPage();
  page.on('dialog', (d) => d.dismiss());
  await page.goto(srv.url + '/');
  await page.fill('#login-name', name);
  await page.fill('#login-password', 'pw');
  await page.click('#login-submit');
  await page.locator('#conn-state', { hasText: 'online' }).waitFor();
  return page;
}

describe('web client in Chromium', () => {
  it('two sessions chat, see unread counts, receipts, and resync after a server restart', async () => {
    const alice = await loggedIn('alice');
    const bob = await loggedIn('bob');
    await alice.fill('#new-chat-user', 'bob');
    await alice.press('#new-chat-user', 'Enter');
    await alice.locator('#chat-title', { hasText: 'bob' }).waitFor();
    await alice.fill('#composer', 'hello bob');
    await alice.press('#composer', 'Enter');
    await alice.locator('.msg.mine .status', { hasText: /^(sent|delivered)$/ }).first().waitFor();

    // bob sees the new conversation with one unread message, opens it; alice then sees "read"
    const item = bob.locator('.conv-item', { hasText: 'alice' });
    await item.locator('.unread', { hasText: '1' }).waitFor();
    await item.click();
    await bob.locator('.msg .body', { hasText: 'hello bob' }).waitFor();
    await expect.poll(() => item.locator('.unread').textContent()).toBe('');
    await alice.locator('.msg.mine .status', { hasText: 'read' }).waitFor();

    // typing indicator and reply
    await bob.type('#composer', 'hi al');
    await alice.locator('#typing', { hasText: 'bob is typing' }).waitFor();
    await bob.fill('#composer', 'hi alice');
    await bob.press('#composer', 'Enter');
    await alice.locator('.msg:not(.mine) .body', { hasText: 'hi alice' }).waitFor();

    // server restart: alice writes while the server is down; after reconnect + sync bob gets it exactly once
    await srv.stop();
    await alice.locator('#conn-state', { hasText: 'reconnecting' }).waitFor();
    await alice.fill('#composer', 'sent while offline');
    await alice.press('#composer', 'Enter');
    await srv.start();
    await bob.locator('.msg .body', { hasText: 'sent while offline' }).waitFor({ timeout: 30000 });
    await alice.locator('.msg.mine .status', { hasText: 'read' }).nth(1).waitFor({ timeout: 30000 });
    expect(await bob.locator('.msg .body', { hasText: 'sent while offline' }).count()).toBe(1);
    expect(await bob.locator('.msg').count()).toBe(3);
  }, 90000);

  it('an invite link creates the account and logs in; the used code is refused the second time', async () => {
    const code = admin(srv, ['invites', 'create']).stdout.trim();
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${srv.url}/#invite=${code}`);
    expect(await page.locator('#register').getAttribute('open')).not.toBeNull();
    expect(await page.inputValue('#register-invite')).toBe(code);
    await page.fill('#login-name', 'carol');
    await page.fill('#login-password', 'carol-pw');
    await page.click('#register-submit');
    await page.locator('#conn-state', { hasText: 'online' }).waitFor();
    expect(await page.locator('#me').textContent()).toBe('carol');
    expect(new URL(page.url()).hash).toBe('');
    expect(admin(srv, ['users', 'list']).stdout).toMatch(/^carol\b/m);

    const again = await (await browser.newContext()).newPage();
    await again.goto(`${srv.url}/#invite=${code}`);
    await again.fill('#login-name', 'dave');
    await again.fill('#login-password', 'dave-password');
    await again.press('#login-password', 'Enter'); // Enter with the sign-up part open signs up, it does not log in
    await again.locator('#login-error', { hasText: 'invite code is unknown, used or expired' }).waitFor();
    expect(admin(srv, ['users', 'list']).stdout).not.toMatch(/^dave\b/m);
  }, 60000);

  it('the status page draws live charts from /metrics for an admin', async () => {
    const page = await loggedIn('root');
    await page.goto(srv.url + '/status');
    await page.locator('.fig', { hasText: 'messages received' }).waitFor();
    await expect.poll(() => page.locator('.uplot canvas').count(), { timeout: 10000 }).toBe(4);
    await page.waitForTimeout(4500);
    expect(await page.locator('#error').textContent()).toBe('');
    const plain = await (await browser.newContext()).newPage();
    await plain.goto(srv.url + '/status');
    await plain.locator('#error', { hasText: 'log in as an admin' }).waitFor();
  }, 60000);
});
