/** Rule violations with links to every asset they name. */
import { createContext, useContext } from 'react';
import type { Violation } from '../api/types.ts';
import { Link } from '../lib/router.tsx';

/** Asset names a page knows (from a site graph), for readable links. */
export const AssetNames = createContext<(id: string) => string | undefined>(() => undefined);

export function AssetLink({ id }: { id: string }) {
  const name = useContext(AssetNames)(id);
  return <Link to={`/assets/${id}`}>{name ?? `asset ${id.slice(0, 8)}`}</Link>;
}

export function ViolationItem({ v, selfId }: { v: Violation; selfId?: string }) {
  const others = v.assetIds.filter((id) => id !== selfId);
  return (
    <li className={`violation ${v.severity}`}>
      <span className={`badge ${v.severity === 'error' ? 'bad' : 'warn'}`}>{v.severity}</span> <code>{v.code}</code> {v.message}
      {others.length > 0 && (
        <span className="conflicts">
          {' '}
          — {selfId ? 'conflicts with' : 'assets'}:{' '}
          {others.map((id, i) => (
            <span key={id}>
              {i > 0 && ', '}
              <AssetLink id={id} />
            </span>
          ))}
        </span>
      )}
      <span className="muted small"> (rule {v.rule})</span>
    </li>
  );
}

export function ViolationList({ violations, selfId }: { violations: Violation[]; selfId?: string }) {
  return (
    <ul className="violations">
      {violations.map((v, i) => (
        <ViolationItem key={`${v.code}-${i}`} v={v} selfId={selfId} />
      ))}
    </ul>
  );
}
