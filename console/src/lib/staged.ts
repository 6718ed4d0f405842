/**
 * Edits staged for a change set, kept in sessionStorage until committed or dropped. One edit
 * per asset (staging an asset again replaces its edit); a change set is per site, so the
 * review page plans and commits each site's edits together.
 */
import { useSyncExternalStore } from 'react';

export interface StagedEdit {
  siteId: string;
  assetId: string;
  assetName: string;
  /** The asset version the edit was made on: its `expectedVersion`. */
  baseVersion: number;
  baseConfig: Record<string, unknown>;
  config: Record<string, unknown>;
}

const KEY = 'rema.staged';
const listeners = new Set<() => void>();
let edits: StagedEdit[] = load();

function load(): StagedEdit[] {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? '[]') as StagedEdit[];
  } catch {
    return [];
  }
}

function save(next: StagedEdit[]) {
  edits = next;
  sessionStorage.setItem(KEY, JSON.stringify(next));
  listeners.forEach((l) => l());
}

export const staged = {
  all: () => edits,
  stage(edit: StagedEdit) {
    save([...edits.filter((e) => e.assetId !== edit.assetId), edit]);
  },
  drop(assetId: string) {
    save(edits.filter((e) => e.assetId !== assetId));
  },
  dropSite(siteId: string) {
    save(edits.filter((e) => e.siteId !== siteId));
  },
  subscribe(l: () => void) {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

export function useStaged(): StagedEdit[] {
  return useSyncExternalStore(staged.subscribe, staged.all);
}
