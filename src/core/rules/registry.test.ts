import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { registryGroups, renderRulesDoc, RULES_DOC_FILE } from '../../../scripts/rules-doc.ts';
import { rules } from './registry.ts';
import type { Rule } from './types.ts';

const RULES_DIR = new URL('./', import.meta.url);
const NOT_RULES = new Set(['registry.ts', 'types.ts', 'run-rules.ts']);
const SCREAMING_SNAKE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;

/** Every file of this folder that should hold a rule: not a test, not the registry's own machinery (lib/ is a folder). */
const ruleFiles = readdirSync(RULES_DIR, { withFileTypes: true })
  .filter((f) => f.isFile() && f.name.endsWith('.ts') && !f.name.endsWith('.test.ts') && !NOT_RULES.has(f.name))
  .map((f) => f.name);

const isRule = (v: unknown): v is Rule => typeof v === 'object' && v !== null && typeof (v as Rule).id === 'string' && typeof (v as Rule).check === 'function';

describe('the rule registry', () => {
  it('holds at least 15 rules, each id once', () => {
    expect(rules.length).toBeGreaterThanOrEqual(15);
    const ids = rules.map((r) => r.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('lists the rule of every rule file, and each rule id is its file name', async () => {
    expect(ruleFiles.length).toBeGreaterThanOrEqual(15);
    for (const file of ruleFiles) {
      const exported = Object.values(await import(new URL(file, RULES_DIR).href)).filter(isRule);
      expect(exported.map((r) => r.id), `${file} exports one rule named after the file`).toEqual([file.replace(/\.ts$/, '')]);
      expect(rules, `${file} is in registry.ts`).toContain(exported[0]);
    }
    expect(rules.map((r) => `${r.id}.ts`).sort()).toEqual([...ruleFiles].sort());
  });

  it('gives every rule a title, a description worth reading and at least one code', () => {
    for (const rule of rules) {
      expect(rule.title.trim(), rule.id).not.toBe('');
      expect(rule.description.length, `${rule.id}: description`).toBeGreaterThanOrEqual(80);
      expect(rule.codes.length, `${rule.id}: codes`).toBeGreaterThanOrEqual(1);
      expect(['error', 'warning'], rule.id).toContain(rule.severity);
    }
  });

  it('uses SCREAMING_SNAKE codes, each owned by one rule only', () => {
    const owners = new Map<string, string[]>();
    for (const rule of rules) {
      for (const code of rule.codes) {
        expect(code, rule.id).toMatch(SCREAMING_SNAKE);
        owners.set(code, [...(owners.get(code) ?? []), rule.id]);
      }
    }
    const shared = [...owners].filter(([, ids]) => ids.length > 1);
    expect(shared, 'codes reported by more than one rule').toEqual([]);
  });

  it('groups every rule under a comment of registry.ts', () => {
    const groups = registryGroups();
    expect(groups.flatMap((g) => g.rules)).toEqual([...rules]);
    expect(groups.every((g) => g.rules.length > 0)).toBe(true);
  });
});

describe('docs/rules.md', () => {
  it('is what `npm run docs:rules` renders from the registry', () => {
    const committed = readFileSync(RULES_DOC_FILE, 'utf8');
    expect(committed, 'docs/rules.md is out of date: run `npm run docs:rules`').toBe(renderRulesDoc());
  });

  it('describes every rule with its codes', () => {
    const doc = renderRulesDoc();
    for (const rule of rules) {
      expect(doc).toContain(`### ${rule.id}\n`);
      for (const code of rule.codes) expect(doc).toContain(`\`${code}\``);
    }
  });
});
