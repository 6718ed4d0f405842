/**
 * Editing an asset's configuration: a form generated from its model's JSON Schema, or raw JSON.
 * Every edit is checked as a dry-run change set (the same write path, nothing stored), and the
 * violations are shown next to their fields with links to the assets they conflict with. A
 * commit is a change set with a comment; a stale version (412) offers reload or re-apply.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, callWithResponse, toApiError, type ApiError } from '../api/client.ts';
import type { Asset, ChangesetResult, Model, Violation } from '../api/types.ts';
import { useMe } from '../auth/me.tsx';
import { applyMergePatch, createMergePatch } from '../lib/merge-patch.ts';
import { Link } from '../lib/router.tsx';
import { staged } from '../lib/staged.ts';
import { useDebounced } from '../lib/use-api.ts';
import { DiffView } from '../ui/diff-view.tsx';
import { Denied, ErrorState } from '../ui/states.tsx';
import { AssetLink, ViolationList } from '../ui/violations.tsx';
import { SchemaForm, type FormContext, type JsonSchema } from './schema-form.tsx';

type Obj = Record<string, unknown>;
type Check = { state: 'idle' } | { state: 'checking' } | { state: 'done'; result: ChangesetResult } | { state: 'failed'; error: ApiError };

interface Props {
  asset: Asset;
  model: Model;
  uuidChoices: FormContext['uuidChoices'];
  /** Re-reads the asset; resolves with the fresh one. */
  reload: () => Promise<Asset>;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function ConfigEditor({ asset: initial, model, uuidChoices, reload }: Props) {
  const me = useMe();
  const [base, setBase] = useState<Asset>(initial);
  const [draft, setDraft] = useState<Obj>(() => structuredClone(initial.config as Obj));
  const [mode, setMode] = useState<'form' | 'json'>('form');
  const [jsonText, setJsonText] = useState(() => JSON.stringify(initial.config, null, 2));
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [check, setCheck] = useState<Check>({ state: 'idle' });
  const [stale, setStale] = useState<string | null>(null);
  const [comment, setComment] = useState('');
  const [committing, setCommitting] = useState(false);
  const [commitError, setCommitError] = useState<ApiError | null>(null);
  const [committed, setCommitted] = useState<string | null>(null);
  const denied = me.whyNot('config.write', base.siteId);
  const retired = base.status === 'retired';
  const dirty = !same(draft, base.config);
  const checked = useDebounced(draft, 400);

  const operation = (config: Obj, version: number) => ({ comment: comment || undefined, operations: [{ op: 'setConfig' as const, id: base.id, expectedVersion: version, config }] });

  useEffect(() => {
    if (!dirty || jsonError || denied) {
      setCheck({ state: 'idle' });
      return;
    }
    let live = true;
    setCheck({ state: 'checking' });
    callWithResponse(api.POST('/v1/sites/{siteId}/changesets', { params: { path: { siteId: base.siteId }, query: { dryRun: true } }, body: operation(checked, base.version) })).then(
      ({ data }) => live && setCheck({ state: 'done', result: data }),
      (e) => {
        if (!live) return;
        const err = toApiError(e);
        if (err.status === 412) setStale(err.etag ?? 'a newer version');
        setCheck({ state: 'failed', error: err });
      },
    );
    return () => {
      live = false;
    };
    // `operation` reads the latest comment; checking again when only the comment changes is pointless.
  }, [checked, base, jsonError, denied]);

  const violations: Violation[] = check.state === 'done' ? check.result.violations : check.state === 'failed' ? ((check.error.problem as { violations?: Violation[] }).violations ?? []) : [];
  const fieldErrors = check.state === 'failed' ? ((check.error.problem as { errors?: Array<{ path: string; message: string }> }).errors ?? []) : [];
  const errorCount = violations.filter((v) => v.severity === 'error').length + fieldErrors.length;

  const messages = useMemo(() => {
    const byPath = new Map<string, ReturnType<FormContext['messages']>>();
    const add = (path: string, m: ReturnType<FormContext['messages']>[number]) => byPath.set(path, [...(byPath.get(path) ?? []), m]);
    for (const v of violations) {
      if (!v.path) continue;
      const others = v.assetIds.filter((id) => id !== base.id);
      add(v.path, {
        text: `${v.message} `,
        severity: v.severity,
        extra: others.length ? (
          <span>
            Conflicts with{' '}
            {others.map((id, i) => (
              <span key={id}>
                {i > 0 && ', '}
                <AssetLink id={id} />
              </span>
            ))}
            .
          </span>
        ) : undefined,
      });
    }
    for (const f of fieldErrors) add(f.path.replace(/^\/operations\/\d+\/config/, '') || '/', { text: f.message, severity: 'error' });
    return byPath;
  }, [violations, fieldErrors, base.id]);

  function setFromForm(v: Obj) {
    setDraft(v);
    setJsonText(JSON.stringify(v, null, 2));
  }
  function setFromJson(text: string) {
    setJsonText(text);
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('The configuration must be a JSON object.');
      setJsonError(null);
      setDraft(v as Obj);
    } catch (e) {
      setJsonError(e instanceof Error ? e.message : String(e));
    }
  }

  async function reloadDiscarding() {
    const fresh = await reload();
    setBase(fresh);
    setFromForm(structuredClone(fresh.config as Obj));
    setStale(null);
    setCommitError(null);
  }
  async function reapply() {
    const fresh = await reload();
    const patch = createMergePatch(base.config, draft);
    setBase(fresh);
    setFromForm(applyMergePatch(fresh.config, patch) as Obj);
    setStale(null);
    setCommitError(null);
  }

  async function commit(e: FormEvent) {
    e.preventDefault();
    setCommitting(true);
    setCommitError(null);
    setCommitted(null);
    try {
      const { data } = await callWithResponse(api.POST('/v1/sites/{siteId}/changesets', { params: { path: { siteId: base.siteId } }, body: operation(draft, base.version) }));
      const fresh = await reload();
      setBase(fresh);
      setFromForm(structuredClone(fresh.config as Obj));
      setComment('');
      staged.drop(base.id);
      setCommitted(
        data.changesetId
          ? `Committed: configuration version ${fresh.configVersion} (change set ${data.changesetId.slice(0, 8)}).`
          : `Nothing to commit: configuration version ${fresh.configVersion} already holds these values.`,
      );
    } catch (err) {
      const x = toApiError(err);
      if (x.status === 412) setStale(x.etag ?? 'a newer version');
      setCommitError(x);
    } finally {
      setCommitting(false);
    }
  }

  function stage() {
    staged.stage({ siteId: base.siteId, assetId: base.id, assetName: base.name, baseVersion: base.version, baseConfig: base.config as Obj, config: draft });
    setCommitted('Staged: review it with your other edits under Change sets.');
  }

  const status =
    !dirty ? 'No changes.' : jsonError ? 'Fix the JSON to check the change.' : check.state === 'checking' ? 'Checking the change against every rule…' : check.state === 'done' ? (errorCount ? `${errorCount} problem${errorCount === 1 ? '' : 's'} to fix before committing.` : `The change passes every rule${violations.length ? ` (${violations.length} warning${violations.length === 1 ? '' : 's'})` : ''}.`) : check.state === 'failed' ? (check.error.status === 422 ? `${fieldErrors.length} field${fieldErrors.length === 1 ? '' : 's'} do not match the model's schema.` : 'The check failed.') : '';

  return (
    <div className="config-editor">
      {denied && <p className="state state-info">Read-only: {denied}</p>}
      {retired && <p className="state state-info">This asset is retired: its configuration can no longer change.</p>}
      {stale && (
        <div className="state state-error" role="alert">
          <strong>Someone changed this asset since you opened it</strong> (now {stale}). Your edits are kept.
          <div className="actions">
            <button type="button" onClick={reloadDiscarding}>
              Reload and discard my edits
            </button>
            <button type="button" className="primary" onClick={reapply}>
              Re-apply my edits on the latest version
            </button>
          </div>
        </div>
      )}
      <div className="toolbar" role="group" aria-label="Editor mode">
        <button type="button" aria-pressed={mode === 'form'} onClick={() => setMode('form')}>
          Form
        </button>
        <button type="button" aria-pressed={mode === 'json'} onClick={() => setMode('json')}>
          Raw JSON
        </button>
        <span className="muted small">
          Editing configuration v{base.configVersion} (asset version {base.version})
        </span>
      </div>
      <p className={`check-status ${errorCount ? 'bad' : ''}`} role="status" aria-live="polite" data-testid="check-status">
        {status}
      </p>
      {violations.length > 0 && (
        <div className="panel">
          <h3>Violations of this change</h3>
          <ViolationList violations={violations} selfId={base.id} />
        </div>
      )}
      {fieldErrors.length > 0 && (
        <div className="panel" role="alert">
          <h3>Fields that do not match the model's schema</h3>
          <ul className="field-messages">
            {fieldErrors.map((f, i) => (
              <li key={i} className="error">
                <code>{f.path.replace(/^\/operations\/\d+\/config/, '') || '/'}</code>: {f.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      {check.state === 'failed' && check.error.status !== 422 && check.error.status !== 412 && <ErrorState error={check.error} />}
      {mode === 'form' ? (
        <SchemaForm schema={model.configSchema as JsonSchema} value={draft} onChange={setFromForm} context={{ messages: (p) => messages.get(p) ?? [], uuidChoices, readOnly: !!denied || retired }} />
      ) : (
        <div className="field wide">
          <label htmlFor="raw-json">Configuration (JSON)</label>
          <textarea id="raw-json" className="json" rows={24} spellCheck={false} value={jsonText} onChange={(e) => setFromJson(e.target.value)} readOnly={!!denied || retired} aria-invalid={jsonError ? true : undefined} aria-describedby="raw-json-msg" />
          <p id="raw-json-msg" className={jsonError ? 'field-messages error' : 'hint'}>
            {jsonError ? `Not valid JSON: ${jsonError}` : 'Field errors and violations are listed above with their JSON paths.'}
          </p>
        </div>
      )}
      {dirty && (
        <details className="panel">
          <summary>Your change, side by side</summary>
          <DiffView before={base.config} after={draft} leftLabel={`v${base.configVersion}`} rightLabel="Your edit" />
        </details>
      )}
      <form className="commit" onSubmit={commit} aria-label="Commit the change">
        <label>
          Comment (why this change)
          <input type="text" value={comment} onChange={(e) => setComment(e.target.value)} required maxLength={2000} disabled={!!denied || retired} />
        </label>
        <button type="submit" className="primary" disabled={!dirty || committing || !!jsonError || !!denied || retired || errorCount > 0 || check.state === 'checking'}>
          {committing ? 'Committing…' : 'Commit'}
        </button>
        <button type="button" onClick={stage} disabled={!dirty || !!jsonError || !!denied || retired}>
          Stage for a change set
        </button>
        <button type="button" onClick={() => setFromForm(structuredClone(base.config as Obj))} disabled={!dirty}>
          Discard edits
        </button>
        <Denied reason={denied} />
      </form>
      {commitError && commitError.status !== 412 && <ErrorState error={commitError} title="Not committed" />}
      {committed && (
        <p className="state state-ok" role="status">
          {committed} {committed.startsWith('Staged') && <Link to="/changes">Review change sets</Link>}
        </p>
      )}
    </div>
  );
}
