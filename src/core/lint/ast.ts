/** Small readers over libpg_query's JSON parse tree (`{ NodeType: { …fields } }`). */

export type Obj = Record<string, unknown>;

export function obj(v: unknown): Obj | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

export function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The fields of a wrapped node of the given type, e.g. `inner(x, 'Constraint')`. */
export function inner(v: unknown, type: string): Obj | undefined {
  return obj(obj(v)?.[type]);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** `{ String: { sval } }` → sval. */
export function sval(v: unknown): string | undefined {
  return str(inner(v, 'String')?.sval);
}

export interface RelName {
  readonly schema?: string;
  readonly name: string;
}

export function rangeVar(v: unknown): RelName | undefined {
  const o = obj(v);
  const name = str(o?.relname);
  return name ? { schema: str(o?.schemaname), name } : undefined;
}

/** `schema.name` with `public` for an unqualified name: the key tables are known by. */
export function relKey(r: RelName): string {
  return `${r.schema ?? 'public'}.${r.name}`;
}

export function relText(r: RelName): string {
  return r.schema ? `${r.schema}.${r.name}` : r.name;
}

/** A dotted name list (`[{String}, {String}]`) as a RelName. */
export function nameList(v: unknown): RelName | undefined {
  const parts = list(obj(inner(v, 'List'))?.items ?? v)
    .map(sval)
    .filter((s): s is string => !!s);
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? { name: parts[0]! } : { schema: parts.at(-2), name: parts.at(-1)! };
}

/** A regclass given as text, e.g. `'sensors'` or `'metrics.readings'` or `'"Odd"'`. */
export function regclassText(text: string): RelName {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      if (quoted && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
    } else if (c === '.' && !quoted) {
      parts.push(cur);
      cur = '';
    } else cur += quoted ? c : c.toLowerCase();
  }
  parts.push(cur);
  return parts.length > 1 ? { schema: parts.at(-2), name: parts.at(-1)! } : { name: parts[0]! };
}

/** Every FuncCall in a subtree, with its (last) name. */
export function funcCalls(root: unknown): Array<{ name: string; node: Obj }> {
  const out: Array<{ name: string; node: Obj }> = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    const o = obj(v);
    if (!o) return;
    for (const [k, child] of Object.entries(o)) {
      if (k === 'FuncCall') {
        const f = obj(child);
        const name = list(f?.funcname).map(sval).at(-1);
        if (f && name) out.push({ name: name.toLowerCase(), node: f });
      }
      walk(child);
    }
  };
  walk(root);
  return out;
}

/** A constant's value as text (strings, numbers, booleans), else undefined. */
export function constText(v: unknown): string | undefined {
  const c = inner(v, 'A_Const');
  if (c) {
    if (obj(c.sval)) return str(obj(c.sval)!.sval);
    if (obj(c.ival)) return String(obj(c.ival)!.ival ?? 0);
    if (obj(c.boolval)) return String(obj(c.boolval)!.boolval ?? false);
    if (obj(c.fval)) return str(obj(c.fval)!.fval);
    return undefined;
  }
  const cast = inner(v, 'TypeCast');
  return cast ? constText(cast.arg) : undefined;
}

/** Positional and named arguments of a function call. */
export function callArgs(f: Obj): { positional: unknown[]; named: Map<string, unknown> } {
  const positional: unknown[] = [];
  const named = new Map<string, unknown>();
  for (const a of list(f.args)) {
    const n = inner(a, 'NamedArgExpr');
    if (n && str(n.name)) named.set(str(n.name)!.toLowerCase(), n.arg);
    else positional.push(a);
  }
  return { positional, named };
}

export function isTrue(v: unknown): boolean {
  const t = constText(v)?.toLowerCase();
  return t === 'true' || t === 't' || t === 'on' || t === '1' || t === 'yes';
}

/** DefElem options as name → value node (`timescaledb.compress` keeps its namespace). */
export function defElems(v: unknown): Array<{ name: string; arg: unknown }> {
  return list(v)
    .map((d) => inner(d, 'DefElem'))
    .filter((d): d is Obj => !!d)
    .map((d) => ({
      name: `${str(d.defnamespace) ? `${str(d.defnamespace)}.` : ''}${str(d.defname) ?? ''}`.toLowerCase(),
      arg: d.arg,
    }));
}
