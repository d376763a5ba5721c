/**
 * Compose variable interpolation, as the Compose specification defines it:
 * `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
 * `${VAR:+replacement}`, `${VAR+replacement}`, nested templates in the default/replacement, and `$$` for a `$`.
 * (No library implements Compose's exact rules in JavaScript; this is a direct transcription of them.)
 */

export interface InterpolationIssue {
  readonly kind: 'unset' | 'required' | 'syntax';
  readonly variable: string;
  readonly message: string;
}

export interface Interpolated {
  readonly value: string;
  readonly issues: InterpolationIssue[];
  /** Names of the variables the template referred to. */
  readonly variables: string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

export function interpolate(template: string, vars: Readonly<Record<string, string | undefined>>): Interpolated {
  const issues: InterpolationIssue[] = [];
  const variables: string[] = [];
  const value = expand(template, vars, issues, variables);
  return { value, issues, variables };
}

function expand(
  s: string,
  vars: Readonly<Record<string, string | undefined>>,
  issues: InterpolationIssue[],
  variables: string[],
): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = s[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = closingBrace(s, i + 2);
      if (end < 0) {
        issues.push({ kind: 'syntax', variable: '', message: `Invalid template "${s.slice(i)}": missing "}".` });
        out += s.slice(i);
        break;
      }
      out += expandBraced(s.slice(i + 2, end), vars, issues, variables);
      i = end + 1;
      continue;
    }
    const m = NAME.exec(s.slice(i + 1));
    if (m) {
      const name = m[0];
      variables.push(name);
      const v = vars[name];
      if (v === undefined) issues.push(unset(name));
      out += v ?? '';
      i += 1 + name.length;
      continue;
    }
    out += '$';
    i++;
  }
  return out;
}

/** Index of the `}` that closes a `${` whose body starts at `from`, honouring nesting. */
function closingBrace(s: string, from: number): number {
  let depth = 1;
  for (let i = from; i < s.length; i++) {
    if (s[i] === '$' && s[i + 1] === '{') {
      depth++;
      i++;
    } else if (s[i] === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function expandBraced(
  body: string,
  vars: Readonly<Record<string, string | undefined>>,
  issues: InterpolationIssue[],
  variables: string[],
): string {
  const m = NAME.exec(body);
  if (!m) {
    issues.push({
      kind: 'syntax',
      variable: body,
      message: `Invalid template "\${${body}}": expected a variable name.`,
    });
    return '';
  }
  const name = m[0];
  variables.push(name);
  const rest = body.slice(name.length);
  const v = vars[name];
  const op = /^(:?[-?+])/.exec(rest)?.[1];
  if (rest === '') {
    if (v === undefined) issues.push(unset(name));
    return v ?? '';
  }
  if (!op) {
    issues.push({
      kind: 'syntax',
      variable: name,
      message: `Invalid template "\${${body}}": unknown modifier "${rest}".`,
    });
    return '';
  }
  const arg = rest.slice(op.length);
  const emptyCounts = op.startsWith(':');
  const isSet = v !== undefined && (!emptyCounts || v !== '');
  switch (op) {
    case '-':
    case ':-':
      return isSet ? (v as string) : expand(arg, vars, issues, variables);
    case '+':
    case ':+':
      return isSet ? expand(arg, vars, issues, variables) : '';
    default: {
      // '?' or ':?'
      if (isSet) return v as string;
      const msg = expand(arg, vars, issues, variables);
      issues.push({
        kind: 'required',
        variable: name,
        message: `Required variable ${name} is ${v === undefined ? 'not set' : 'empty'}${msg ? `: ${msg}` : ''}.`,
      });
      return '';
    }
  }
}

function unset(name: string): InterpolationIssue {
  return { kind: 'unset', variable: name, message: `Variable ${name} is not set (Compose would use an empty string).` };
}
