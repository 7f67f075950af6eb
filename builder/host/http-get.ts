// One GET over node:http/https that follows redirects (mirrors redirect), for downloads that stream to a file.
// Not fetch(): undici's parser asserts (`assert(!this.paused)`) when an HTTP/1.0 server closes the connection
// while the body stream is paused by backpressure, and that surfaced as an uncaught stack trace.
import http from 'node:http';
import https from 'node:https';

export class HttpGetError extends Error {
  readonly code?: string;
  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

/**
 * GETs `url` with `headers`, following up to `maxRedirects` 301/302/303/307/308; resolves with the final response.
 * A connection silent for `idleMs` (no answer, or a body that stalls) is destroyed with ETIMEDOUT.
 */
export function httpGet(url: string, headers: Record<string, string>, signal?: AbortSignal, idleMs = 60_000, maxRedirects = 5): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return reject(new HttpGetError(`redirected to a ${u.protocol} URL`));
    const req = (u.protocol === 'https:' ? https : http).get(u, { headers, signal }, (res) => {
      const status = res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
        res.resume();
        if (maxRedirects <= 0) return reject(new HttpGetError('too many redirects'));
        const next = new URL(res.headers.location, u).toString();
        return httpGet(next, headers, signal, idleMs, maxRedirects - 1).then(resolve, reject);
      }
      resolve(res);
    });
    req.setTimeout(idleMs, () => req.destroy(Object.assign(new Error(`no data for ${idleMs / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => reject(new HttpGetError(e.message, e.code)));
  });
}
