/**
 * A form generated from a device model's configuration JSON Schema: objects become fieldsets,
 * `anyOf` of constants and enums become selects, numbers get their bounds, optional fields can
 * be added and removed, arrays of objects get add/remove. Every field carries a JSON Pointer
 * (`data-path`) so the server's errors and rule violations are shown right next to it.
 */
import { createContext, useContext, useId, type ReactNode } from 'react';

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  description?: string;
  uniqueItems?: boolean;
  default?: unknown;
};

type Json = unknown;
type Obj = Record<string, Json>;
const isObj = (v: Json): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What the form needs besides the schema: messages per path, asset choices for uuid fields. */
export interface FormContext {
  messages: (path: string) => Array<{ text: string; severity: 'error' | 'warning'; extra?: ReactNode }>;
  uuidChoices: Array<{ id: string; label: string }>;
  readOnly: boolean;
}
const Ctx = createContext<FormContext>({ messages: () => [], uuidChoices: [], readOnly: false });

const constsOf = (s: JsonSchema): unknown[] | null => {
  if (s.enum) return s.enum;
  if (s.anyOf && s.anyOf.every((x) => 'const' in x)) return s.anyOf.map((x) => x.const);
  return null;
};

const human = (key: string) =>
  key
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/Ms$/, ' (ms)')
    .replace(/^./, (c) => c.toUpperCase());

/** A value that satisfies `s` as far as a person will want to start from. */
export function defaultFor(s: JsonSchema): Json {
  if (s.default !== undefined) return s.default;
  const consts = constsOf(s);
  if (consts) return consts[0];
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  if (type === 'object') return Object.fromEntries((s.required ?? []).map((k) => [k, defaultFor(s.properties?.[k] ?? {})]));
  if (type === 'array') return [];
  if (type === 'integer' || type === 'number') return s.minimum ?? 0;
  if (type === 'boolean') return false;
  return '';
}

export function SchemaForm({ schema, value, onChange, context }: { schema: JsonSchema; value: Obj; onChange: (v: Obj) => void; context: FormContext }) {
  return (
    <Ctx.Provider value={context}>
      <fieldset className="schema-form" disabled={context.readOnly}>
        <legend className="sr-only">Configuration</legend>
        <ObjectFields schema={schema} value={value} path="" onChange={(v) => onChange(v as Obj)} />
      </fieldset>
    </Ctx.Provider>
  );
}

function Messages({ path, id }: { path: string; id: string }) {
  const list = useContext(Ctx).messages(path);
  if (list.length === 0) return null;
  return (
    <ul className="field-messages" id={id} data-messages-for={path}>
      {list.map((m, i) => (
        <li key={i} className={m.severity}>
          {m.text}
          {m.extra}
        </li>
      ))}
    </ul>
  );
}

function ObjectFields({ schema, value, path, onChange }: { schema: JsonSchema; value: Json; path: string; onChange: (v: Json) => void }) {
  const obj = isObj(value) ? value : {};
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const present = Object.keys(props).filter((k) => k in obj || required.has(k));
  const absent = Object.keys(props).filter((k) => !(k in obj) && !required.has(k));
  const unknown = Object.keys(obj).filter((k) => !(k in props));
  const addId = useId();
  const set = (k: string, v: Json) => {
    const next = { ...obj };
    if (v === undefined) delete next[k];
    else next[k] = v;
    onChange(next);
  };
  return (
    <div className="object-fields">
      {present.map((k) => (
        <Field key={k} name={k} schema={props[k]} value={obj[k]} path={`${path}/${k}`} required={required.has(k)} onChange={(v) => set(k, v)} onRemove={required.has(k) ? undefined : () => set(k, undefined)} />
      ))}
      {unknown.map((k) => (
        <p key={k} className="field-messages error">
          Unknown field <code>{k}</code>: the model does not have it.{' '}
          <button type="button" className="link" onClick={() => set(k, undefined)}>
            Remove {k}
          </button>
        </p>
      ))}
      {absent.length > 0 && (
        <div className="add-field">
          <label htmlFor={addId}>Add an optional field{path ? ` to ${path}` : ''}</label>
          <select
            id={addId}
            value=""
            onChange={(e) => {
              const k = e.target.value;
              if (k) set(k, defaultFor(props[k]));
            }}
          >
            <option value="">choose…</option>
            {absent.map((k) => (
              <option key={k} value={k}>
                {human(k)}
              </option>
            ))}
          </select>
        </div>
      )}
    </div>
  );
}

function Field({ name, schema, value, path, required, onChange, onRemove }: { name: string; schema: JsonSchema; value: Json; path: string; required: boolean; onChange: (v: Json) => void; onRemove?: () => void }) {
  const id = useId();
  const msgId = `${id}-msg`;
  const ctx = useContext(Ctx);
  const hasMsg = ctx.messages(path).length > 0;
  const invalid = ctx.messages(path).some((m) => m.severity === 'error');
  const label = human(name);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const consts = constsOf(schema);
  const remove = onRemove && (
    <button type="button" className="link small" onClick={onRemove} aria-label={`Remove ${label}`}>
      remove
    </button>
  );
  const hint = schema.description ? <span className="hint">{schema.description}</span> : null;
  const common = { id, 'aria-invalid': invalid || undefined, 'aria-describedby': hasMsg ? msgId : undefined, required };

  if (type === 'object' || schema.properties) {
    return (
      <fieldset className="nested" data-path={path}>
        <legend>
          {label} {remove}
        </legend>
        {hint}
        <Messages path={path} id={msgId} />
        <ObjectFields schema={schema} value={value} path={path} onChange={onChange} />
      </fieldset>
    );
  }
  if (type === 'array' && schema.items) {
    const items = Array.isArray(value) ? value : [];
    const itemConsts = constsOf(schema.items);
    if (itemConsts) {
      return (
        <fieldset className="nested checks" data-path={path}>
          <legend>
            {label} {remove}
          </legend>
          {itemConsts.map((c) => (
            <label key={String(c)} className="check">
              <input type="checkbox" checked={items.includes(c)} onChange={(e) => onChange(e.target.checked ? [...items, c] : items.filter((x) => x !== c))} /> {String(c)}
            </label>
          ))}
          <Messages path={path} id={msgId} />
        </fieldset>
      );
    }
    return (
      <fieldset className="nested" data-path={path}>
        <legend>
          {label} ({items.length}) {remove}
        </legend>
        <Messages path={path} id={msgId} />
        {items.map((item, i) => (
          <div key={i} className="array-item">
            <Field name={`${name} ${i + 1}`} schema={schema.items!} value={item} path={`${path}/${i}`} required onChange={(v) => onChange(items.map((x, j) => (j === i ? v : x)))} onRemove={() => onChange(items.filter((_, j) => j !== i))} />
          </div>
        ))}
        {(schema.maxItems === undefined || items.length < schema.maxItems) && (
          <button type="button" onClick={() => onChange([...items, defaultFor(schema.items!)])}>
            Add {name.replace(/s$/, '')}
          </button>
        )}
      </fieldset>
    );
  }

  let input: ReactNode;
  if (consts) {
    const idx = consts.findIndex((c) => c === value);
    input = (
      <select {...common} value={idx < 0 ? '' : String(idx)} onChange={(e) => onChange(e.target.value === '' ? undefined : consts[Number(e.target.value)])}>
        {idx < 0 && <option value="">{value === undefined ? 'choose…' : `${String(value)} (not allowed)`}</option>}
        {consts.map((c, i) => (
          <option key={i} value={i}>
            {String(c)}
          </option>
        ))}
      </select>
    );
  } else if (type === 'integer' || type === 'number') {
    input = (
      <input
        {...common}
        type="number"
        inputMode={type === 'integer' ? 'numeric' : 'decimal'}
        step={type === 'integer' ? 1 : 'any'}
        min={schema.minimum}
        max={schema.maximum}
        value={typeof value === 'number' ? value : value === undefined ? '' : String(value)}
        onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))}
      />
    );
  } else if (type === 'boolean') {
    input = <input {...common} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
  } else {
    const listId = schema.format === 'uuid' ? `${id}-choices` : undefined;
    input = (
      <>
        <input {...common} type="text" list={listId} value={typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value)} minLength={schema.minLength} maxLength={schema.maxLength} pattern={schema.pattern} onChange={(e) => onChange(e.target.value)} />
        {listId && (
          <datalist id={listId}>
            {ctx.uuidChoices.map((c) => (
              <option key={c.id} value={c.id}>
                {c.label}
              </option>
            ))}
          </datalist>
        )}
        {listId && typeof value === 'string' && <span className="hint">{ctx.uuidChoices.find((c) => c.id === value)?.label ?? 'no asset of this site has this id'}</span>}
      </>
    );
  }
  const bounds = schema.minimum !== undefined || schema.maximum !== undefined ? `${schema.minimum ?? '…'}–${schema.maximum ?? '…'}` : null;
  return (
    <div className={`field${invalid ? ' has-error' : ''}`} data-path={path}>
      <label htmlFor={id}>
        {label}
        {required && <span aria-hidden="true"> *</span>}
        {bounds && <span className="hint"> ({bounds})</span>}
      </label>
      {input}
      {remove}
      {hint}
      <Messages path={path} id={msgId} />
    </div>
  );
}
