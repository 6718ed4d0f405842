import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ApiError, apiError, errorCodes, errors } from './errors.ts';
import { buildHttpApp } from './app.ts';

/** Rows of the markdown table in docs/errors.md whose first cell is a code. */
async function docsTable(): Promise<Array<{ code: string; status: number; title: string; when: string; todo: string }>> {
  const text = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((line) => /^\|\s*[A-Z][A-Z0-9_]*\s*\|/.test(line))
    .map((line) => {
      const [code, status, title, when, todo] = line.split('|').slice(1, -1).map((cell) => cell.trim());
      return { code, status: Number(status), title, when, todo };
    });
}

describe('error registry', () => {
  it('gives every code an HTTP error status and a title', () => {
    for (const code of errorCodes) {
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect(errors[code].status).toBeGreaterThanOrEqual(400);
      expect(errors[code].status).toBeLessThan(600);
      expect(errors[code].title.length).toBeGreaterThan(0);
    }
  });

  it('builds ApiErrors carrying the status, title and extension members of their code', () => {
    const error = apiError('PRECONDITION_FAILED', 'stale', { currentEtag: '"asset-a-v2"' });
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'PRECONDITION_FAILED', status: 412, detail: 'stale', extra: { currentEtag: '"asset-a-v2"' } });
  });

  it('is documented in docs/errors.md: exactly the same codes, statuses and titles', async () => {
    const rows = await docsTable();
    expect(rows.map((r) => r.code).sort()).toEqual([...errorCodes].sort());
    for (const row of rows) {
      const spec = errors[row.code as keyof typeof errors];
      expect({ code: row.code, status: row.status, title: row.title }).toEqual({ code: row.code, status: spec.status, title: spec.title });
      expect(row.when, `${row.code}: when it happens`).not.toBe('');
      expect(row.todo, `${row.code}: what to do`).not.toBe('');
    }
  });

  it('is the code enum of the OpenAPI Problem schema', async () => {
    const app = await buildHttpApp();
    try {
      const res = await app.inject({ method: 'GET', url: '/openapi.json' });
      const problem = res.json().components.schemas.Problem;
      expect(problem.properties.code.enum).toEqual(errorCodes);
    } finally {
      await app.close();
    }
  });
});
