// The status table stays complete: every error code constructed in src/ has an HTTP status.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AgentfleetError } from '../errors/index.ts';
import { CircuitOpenError, RateLimitedError } from '../resilience/index.ts';
import { STATUS_BY_CODE, sendError, statusFor } from './http-errors.ts';

const SRC = fileURLToPath(new URL('..', import.meta.url));

/** Product sources: no tests, contract suites or benchmarks (their codes are made up on purpose). */
async function sources(): Promise<string[]> {
  const entries = await readdir(SRC, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .filter((e) => !e.name.endsWith('.test.ts') && !e.name.endsWith('.contract.ts'))
    .map((e) => `${e.parentPath}/${e.name}`);
}

/** Codes given literally to an error: `super('CODE'`, `new XError('CODE'`, `code: 'CODE'`, a `code:` union. */
const PATTERNS = [
  /\bsuper\(\s*'([A-Z][A-Z0-9_]+)'/g,
  /\bnew\s+\w*Error\(\s*'([A-Z][A-Z0-9_]+)'/g,
  /\bcode: '([A-Z][A-Z0-9_]+)'/g,
  /\bcode: ((?:'[A-Z][A-Z0-9_]+'\s*\|\s*)+'[A-Z][A-Z0-9_]+')/g,
];

async function thrownCodes(): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const file of await sources()) {
    const text = await readFile(file, 'utf8');
    for (const pattern of PATTERNS) {
      for (const match of text.matchAll(pattern)) {
        for (const code of match[1]!.matchAll(/[A-Z][A-Z0-9_]+/g)) {
          if (!found.has(code[0])) found.set(code[0], file.slice(SRC.length));
        }
      }
    }
  }
  return found;
}

function fakeResponse() {
  const headers: Record<string, string> = {};
  let status = 0;
  const res = {
    headersSent: false,
    writeHead(s: number, list: string[]) {
      status = s;
      for (let i = 0; i < list.length; i += 2) headers[list[i]!] = list[i + 1]!;
    },
    end() {},
  };
  return { res: res as never, headers, status: () => status };
}

describe('STATUS_BY_CODE', () => {
  it('has a status for every error code constructed in src/', async () => {
    const codes = await thrownCodes();
    assert.ok(codes.size > 50, `the scan found codes (${codes.size})`);
    const table: Record<string, number> = STATUS_BY_CODE;
    const missing = [...codes].filter(([code]) => table[code] === undefined).map(([c, f]) => `${c} (${f})`);
    assert.deepEqual(missing, [], 'codes without an HTTP status');
  });

  it('maps the codes that used to become 500, and keeps the bus timeout apart from HTTP 408', () => {
    const expect: Record<string, number> = {
      CIRCUIT_OPEN: 503,
      RATE_LIMITED: 429,
      BUS_CLOSED: 503,
      LLM_RATE_LIMITED: 503,
      LLM_TIMEOUT: 504,
      LLM_AUTH: 502,
      REPLY_TIMEOUT: 504,
      REQUEST_TIMEOUT: 408,
    };
    for (const [code, status] of Object.entries(expect)) {
      assert.equal(statusFor(new AgentfleetError(code, 'x')), status, code);
    }
  });

  it('sends Retry-After from the error: retryAfterSeconds, else retryAfterMs rounded up', () => {
    const limited = fakeResponse();
    sendError(limited.res, new RateLimitedError('k', 1, 2_500));
    assert.equal(limited.status(), 429);
    assert.equal(limited.headers['retry-after'], '3');
    const open = fakeResponse();
    sendError(open.res, new CircuitOpenError('vendor', 7_000));
    assert.equal(open.status(), 503);
    assert.equal(open.headers['retry-after'], '7');
    const llm = fakeResponse();
    sendError(llm.res, new AgentfleetError('LLM_RATE_LIMITED', 'x', { details: { retryAfterMs: 12_001 } }));
    assert.equal(llm.headers['retry-after'], '13');
    const bus = fakeResponse();
    sendError(bus.res, new AgentfleetError('BUS_CLOSED', 'x'));
    assert.equal(bus.headers['retry-after'], '1');
  });

  it('sends no Retry-After for a quota on a count, which waiting does not free', () => {
    const documents = fakeResponse();
    const details = { tenant: 't', quota: 'maxDocumentsPerTenant', limit: 10, wanted: 11 };
    sendError(documents.res, new AgentfleetError('QUOTA_EXCEEDED', 'x', { details }));
    assert.equal(documents.status(), 429);
    assert.equal(documents.headers['retry-after'], undefined);
  });
});
