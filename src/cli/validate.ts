import { apiClient } from './api-client.ts';

interface Violation {
  rule: string;
  code: string;
  message: string;
  severity: string;
  assetIds: string[];
}

/** `rema validate --all | --site CODE`: exit 0 when no site has an error-severity violation. */
export async function validateCommand(opts: { all?: boolean; site?: string; url: string; token?: string }): Promise<number> {
  if (!opts.all && !opts.site) {
    console.error('say which sites: --all, or --site CODE');
    return 2;
  }
  if (opts.all && opts.site) {
    console.error('--all and --site CODE say different things: give one of them');
    return 2;
  }
  const api = apiClient(opts.url, opts.token);
  let cursor: string | null = null;
  let sites = 0;
  let errors = 0;
  let warnings = 0;
  do {
    const query: URLSearchParams = new URLSearchParams({ limit: '500', ...(opts.site ? { code: opts.site } : {}), ...(cursor ? { cursor } : {}) });
    const page: { status: number; body: { items: Array<{ id: string; code: string }>; nextCursor: string | null } } = await api.request<{ items: Array<{ id: string; code: string }>; nextCursor: string | null }>('GET', `/v1/sites?${query}`);
    if (page.status !== 200) throw new Error(`listing sites failed: ${page.status} ${JSON.stringify(page.body)}`);
    for (const site of page.body.items) {
      const res = await api.request<{ violations: Violation[] }>('POST', `/v1/sites/${site.id}/validate`);
      if (res.status !== 200) throw new Error(`validating ${site.code} failed: ${res.status} ${JSON.stringify(res.body)}`);
      sites++;
      for (const v of res.body.violations) {
        if (v.severity === 'error') errors++;
        else warnings++;
        console.log(`${site.code}  ${v.severity.padEnd(7)} ${v.rule} ${v.code}: ${v.message}`);
      }
    }
    cursor = page.body.nextCursor;
  } while (cursor);
  if (opts.site && sites === 0) {
    console.error(`no site with code ${opts.site}`);
    return 2;
  }
  console.log(`${sites} site(s) checked: ${errors} error(s), ${warnings} warning(s)`);
  return errors > 0 ? 1 : 0;
}
