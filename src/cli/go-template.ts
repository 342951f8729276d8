/**
 * Go's text/template as Docker's CLI uses it for `--format`: actions with pipes, `if`/`else
 * if`/`else`, `range` (with `$i, $v :=`, over lists and maps in key order), `with`,
 * variables, parentheses, comments, `{{-`/`-}}` trimming, and the functions Go and Docker
 * add: and, or, not, len, index, slice, print, printf, println, eq, ne, lt, le, gt, ge,
 * json, join, split, lower, upper, title, truncate, pad. `\t` and `\n` in the text are
 * escapes, as Docker's CLI reads them. Values print as Go's `%v` does (`map[a:1 b:2]`,
 * `[x y]`, `<no value>` for a missing key).
 *
 * JSON objects stand for both Go structs and maps; `json` sorts the keys of maps (Go's
 * encoding/json does) and keeps struct field order. An object whose keys are all exported
 * Go identifiers (`State`, `Pid`) is taken as a struct, anything else (`com.example.x`,
 * `bridge`) as a map.
 */
import { invalidArgument } from '../core/errors.js';

type Value = unknown;

type Node =
  | { k: 'text'; text: string }
  | { k: 'action'; pipe: Pipe }
  | { k: 'if' | 'with'; pipe: Pipe; body: Node[]; orElse: Node[] }
  | { k: 'range'; pipe: Pipe; body: Node[]; orElse: Node[] };

interface Pipe {
  decl: string[];
  cmds: Arg[][];
}

type Arg =
  | { k: 'field'; base: 'dot' | { var: string } | { sub: Pipe }; path: string[] }
  | { k: 'lit'; v: Value }
  | { k: 'fn'; name: string };

const fail = (msg: string) => invalidArgument(`Template parsing error: template: ${msg}`);
const execFail = (msg: string) => invalidArgument(`Template execution error: template: ${msg}`);

// ---- lexing -------------------------------------------------------------------------------

type Tok = { t: 'id' | 'field' | 'var' | 'str' | 'num' | 'op'; v: string };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw fail('unterminated quoted string');
      out.push({ t: 'str', v: JSON.parse(src.slice(i, j + 1)) as string });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw fail('unterminated raw quoted string');
      out.push({ t: 'str', v: src.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    const m =
      /^(:=|=|\||\(|\)|,)/.exec(src.slice(i)) ??
      /^(\.[A-Za-z0-9_]*)+/.exec(src.slice(i)) ??
      /^\$[A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*/.exec(src.slice(i)) ??
      /^-?\d+(\.\d+)?/.exec(src.slice(i)) ??
      /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (!m) throw fail(`unexpected "${c}" in command`);
    const v = m[0];
    const t: Tok['t'] = /^[:=|(),]/.test(v)
      ? 'op'
      : v.startsWith('.')
        ? 'field'
        : v.startsWith('$')
          ? 'var'
          : /^-?\d/.test(v)
            ? 'num'
            : 'id';
    out.push({ t, v });
    i += v.length;
  }
  return out;
}

// ---- parsing ------------------------------------------------------------------------------

const FUNCS = new Set([
  'and',
  'or',
  'not',
  'len',
  'index',
  'slice',
  'print',
  'printf',
  'println',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'json',
  'join',
  'split',
  'lower',
  'upper',
  'title',
  'truncate',
  'pad',
]);

class Parser {
  private pos = 0;
  constructor(private readonly toks: Tok[]) {}

  done(): boolean {
    return this.pos >= this.toks.length;
  }

  pipe(stopAtParen = false): Pipe {
    const decl: string[] = [];
    // `$x :=` or `$i, $v :=`
    const save = this.pos;
    while (this.toks[this.pos]?.t === 'var') {
      decl.push(this.toks[this.pos]!.v);
      this.pos++;
      if (this.toks[this.pos]?.v === ',') this.pos++;
      else break;
    }
    if (decl.length > 0 && (this.toks[this.pos]?.v === ':=' || this.toks[this.pos]?.v === '=')) this.pos++;
    else {
      decl.length = 0;
      this.pos = save;
    }
    const cmds: Arg[][] = [[]];
    while (!this.done()) {
      const tok = this.toks[this.pos]!;
      if (tok.v === ')' && tok.t === 'op') {
        if (!stopAtParen) throw fail('unexpected right paren');
        break;
      }
      this.pos++;
      if (tok.t === 'op' && tok.v === '|') {
        if (cmds[cmds.length - 1]!.length === 0) throw fail('missing command before |');
        cmds.push([]);
        continue;
      }
      cmds[cmds.length - 1]!.push(this.operand(tok));
    }
    if (cmds[cmds.length - 1]!.length === 0) throw fail('missing value for command');
    return { decl, cmds };
  }

  private operand(tok: Tok): Arg {
    switch (tok.t) {
      case 'str':
        return { k: 'lit', v: tok.v };
      case 'num':
        return { k: 'lit', v: Number(tok.v) };
      case 'field':
        return { k: 'field', base: 'dot', path: tok.v.split('.').slice(1).filter(Boolean) };
      case 'var': {
        const [name, ...rest] = tok.v.split('.');
        return { k: 'field', base: { var: name! }, path: rest };
      }
      case 'id':
        if (tok.v === 'true' || tok.v === 'false') return { k: 'lit', v: tok.v === 'true' };
        if (tok.v === 'nil') return { k: 'lit', v: null };
        if (!FUNCS.has(tok.v)) throw fail(`function "${tok.v}" not defined`);
        return { k: 'fn', name: tok.v };
      default: {
        if (tok.v !== '(') throw fail(`unexpected "${tok.v}" in operand`);
        const sub = this.pipe(true);
        if (this.toks[this.pos]?.v !== ')') throw fail('unclosed left paren');
        this.pos++;
        // `(pipeline).Field`
        const next = this.toks[this.pos];
        let path: string[] = [];
        if (next?.t === 'field') {
          path = next.v.split('.').slice(1).filter(Boolean);
          this.pos++;
        }
        return { k: 'field', base: { sub }, path };
      }
    }
  }
}

/** Splits the text into text and action pieces, applying `{{-` and `-}}` trimming. */
function pieces(text: string): ({ text: string } | { action: string })[] {
  const out: ({ text: string } | { action: string })[] = [];
  let i = 0;
  let trimNext = false;
  while (i <= text.length) {
    const open = text.indexOf('{{', i);
    let lit = text.slice(i, open < 0 ? text.length : open);
    if (trimNext) lit = lit.replace(/^\s+/, '');
    if (open < 0) {
      if (lit) out.push({ text: lit });
      break;
    }
    const close = text.indexOf('}}', open + 2);
    if (close < 0) throw fail('unclosed action');
    let inner = text.slice(open + 2, close);
    if (/^-\s/.test(inner)) {
      lit = lit.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    trimNext = /\s-$/.test(inner);
    if (trimNext) inner = inner.slice(0, -1);
    if (lit) out.push({ text: lit });
    out.push({ action: inner.trim() });
    i = close + 2;
  }
  return out;
}

function parse(text: string): Node[] {
  const list = pieces(text);
  let at = 0;
  // Parses nodes until one of `stops` (a keyword action); returns the nodes and the stop seen.
  const block = (stops: string[]): { nodes: Node[]; stop?: string; rest?: string } => {
    const nodes: Node[] = [];
    while (at < list.length) {
      const p = list[at++]!;
      if ('text' in p) {
        nodes.push({ k: 'text', text: p.text });
        continue;
      }
      const a = p.action;
      if (a.startsWith('/*')) {
        if (!a.endsWith('*/')) throw fail('unclosed comment');
        continue;
      }
      const kw = /^(if|range|with|else|end)\b\s*(.*)$/s.exec(a);
      if (!kw) {
        nodes.push({ k: 'action', pipe: pipeOf(a) });
        continue;
      }
      const [, word, rest] = kw as unknown as [string, string, string];
      if (word === 'end' || word === 'else') {
        if (!stops.includes(word)) throw fail(`unexpected {{${word}}}`);
        return { nodes, stop: word, rest };
      }
      nodes.push(control(word as 'if' | 'range' | 'with', rest));
    }
    if (stops.length > 0) throw fail('unexpected EOF');
    return { nodes };
  };
  const control = (word: 'if' | 'range' | 'with', rest: string): Node => {
    if (!rest) throw fail(`missing value for ${word}`);
    const pipe = pipeOf(rest);
    const body = block(['else', 'end']);
    let otherwise: Node[] = [];
    if (body.stop === 'else') {
      // `{{else if X}}` / `{{else with X}}` nest a new block that shares the `end`.
      const chained = /^(if|with)\b\s*(.*)$/s.exec(body.rest ?? '');
      if (chained) otherwise = [control(chained[1] as 'if' | 'with', chained[2]!)];
      else otherwise = block(['end']).nodes;
    }
    return { k: word, pipe, body: body.nodes, orElse: otherwise };
  };
  const nodes = block([]).nodes;
  return nodes;
}

function pipeOf(src: string): Pipe {
  const p = new Parser(tokenize(src));
  const pipe = p.pipe();
  if (!p.done()) throw fail('unexpected tokens after pipeline');
  return pipe;
}

// ---- values -------------------------------------------------------------------------------

const isObject = (v: Value): v is Record<string, Value> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
/** An object standing for a Go struct (exported field names) rather than a map. */
const isStruct = (o: Record<string, Value>) =>
  Object.keys(o).length > 0 && Object.keys(o).every((k) => /^[A-Z][A-Za-z0-9]*$/.test(k));
const sortedKeys = (o: Record<string, Value>) => Object.keys(o).sort();

function truthy(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true;
}

/** Go's `%v`. */
function show(v: Value): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`;
  const o = v as Record<string, Value>;
  if (isStruct(o)) return `{${Object.values(o).map(show).join(' ')}}`;
  return `map[${sortedKeys(o)
    .map((k) => `${k}:${show(o[k])}`)
    .join(' ')}]`;
}

/** Go's json.Marshal: map keys sorted, struct fields in order, <, > and & escaped. */
export function goJson(v: Value): string {
  const order = (x: Value): Value => {
    if (Array.isArray(x)) return x.map(order);
    if (!isObject(x)) return x;
    const keys = isStruct(x) ? Object.keys(x) : sortedKeys(x);
    return Object.fromEntries(keys.filter((k) => x[k] !== undefined).map((k) => [k, order(x[k])]));
  };
  return (JSON.stringify(order(v ?? null)) ?? 'null')
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026');
}

/** Go's fmt verbs that format strings use: %v %s %d %q %t %f %x with width, precision and `-`. */
function sprintf(format: string, args: Value[]): string {
  let n = 0;
  return format.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([vsdqtfxX%])/g, (_m, flags: string, w, prec, verb) => {
    if (verb === '%') return '%';
    if (n >= args.length) return `%!${verb}(MISSING)`;
    const a = args[n++];
    let s: string;
    switch (verb) {
      case 'd':
        s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${typeof a}=${show(a)})`;
        break;
      case 'f':
        s = typeof a === 'number' ? a.toFixed(prec === undefined ? 6 : Number(prec)) : `%!f(${show(a)})`;
        break;
      case 'q':
        s = JSON.stringify(show(a));
        break;
      case 'x':
      case 'X':
        s = typeof a === 'number' ? a.toString(16) : Buffer.from(show(a)).toString('hex');
        if (verb === 'X') s = s.toUpperCase();
        break;
      default:
        s = show(a);
        if (prec !== undefined && verb === 's') s = s.slice(0, Number(prec));
    }
    const width = w === undefined ? 0 : Number(w);
    return flags.includes('-')
      ? s.padEnd(width)
      : s.padStart(width, flags.includes('0') && verb !== 's' ? '0' : ' ');
  });
}

function compare(name: string, a: Value, b: Value): boolean {
  if (name === 'eq') return a === b || (a == null && b == null);
  if (name === 'ne') return !(a === b);
  if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string'))
    throw execFail(`error calling ${name}: incompatible types for comparison`);
  const x = a as number | string;
  const y = b as number | string;
  return name === 'lt' ? x < y : name === 'le' ? x <= y : name === 'gt' ? x > y : x >= y;
}

function lengthOf(v: Value): number {
  if (typeof v === 'string' || Array.isArray(v)) return v.length;
  if (isObject(v)) return Object.keys(v).length;
  throw execFail(`error calling len: len of type ${v === null ? 'nil' : typeof v}`);
}

function call(name: string, args: Value[]): Value {
  const one = () => {
    if (args.length !== 1) throw execFail(`wrong number of args for ${name}: want 1 got ${args.length}`);
    return args[0];
  };
  switch (name) {
    case 'and':
      return args.find((a) => !truthy(a)) ?? args[args.length - 1];
    case 'or':
      return args.find(truthy) ?? args[args.length - 1];
    case 'not':
      return !truthy(one());
    case 'len':
      return lengthOf(one());
    case 'index': {
      let v = args[0];
      for (const k of args.slice(1)) {
        if (Array.isArray(v)) {
          if (typeof k !== 'number' || k < 0 || k >= v.length)
            throw execFail(`error calling index: index out of range: ${show(k)}`);
          v = v[k];
        } else if (isObject(v)) v = Object.hasOwn(v, String(k)) ? v[String(k)] : undefined;
        else if (v === undefined || v === null) throw execFail('error calling index: index of untyped nil');
        else throw execFail(`error calling index: can't index item of type ${typeof v}`);
      }
      return v;
    }
    case 'slice': {
      const [v, from, to] = args as [Value, number | undefined, number | undefined];
      if (typeof v === 'string' || Array.isArray(v)) return v.slice(from ?? 0, to ?? v.length);
      throw execFail(`error calling slice: can't slice item of type ${typeof v}`);
    }
    case 'print':
      return args
        .map((a, i) =>
          i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string' ? ` ${show(a)}` : show(a),
        )
        .join('');
    case 'println':
      return `${args.map(show).join(' ')}\n`;
    case 'printf':
      return sprintf(String(args[0] ?? ''), args.slice(1));
    case 'eq':
      if (args.length < 2) throw execFail('missing argument for comparison');
      return args.slice(1).some((b) => compare('eq', args[0], b));
    case 'ne':
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge':
      if (args.length !== 2) throw execFail(`wrong number of args for ${name}: want 2 got ${args.length}`);
      return compare(name, args[0], args[1]);
    case 'json':
      return goJson(one());
    case 'join': {
      const [list, sep] = args;
      if (!Array.isArray(list)) throw execFail(`error calling join: ${show(list)} is not a list`);
      return list.map(show).join(String(sep ?? ''));
    }
    case 'split':
      return show(args[0]).split(String(args[1] ?? ''));
    case 'lower':
      return show(one()).toLowerCase();
    case 'upper':
      return show(one()).toUpperCase();
    case 'title':
      return show(one()).replace(
        /(^|[^\p{L}\p{N}_'])(\p{L})/gu,
        (_m, a: string, b: string) => a + b.toUpperCase(),
      );
    case 'truncate': {
      const s = show(args[0]);
      return s.slice(0, Number(args[1]));
    }
    case 'pad': {
      const [s, before, after] = args as [Value, number, number];
      return `${' '.repeat(before)}${show(s)}${' '.repeat(after)}`;
    }
    default:
      throw execFail(`function "${name}" not defined`);
  }
}

// ---- execution ----------------------------------------------------------------------------

type Scope = { dot: Value; vars: Map<string, Value> };

function field(v: Value, path: string[]): Value {
  for (const key of path) {
    if (v === undefined || v === null) return undefined;
    if (!isObject(v))
      throw execFail(`can't evaluate field ${key} in type ${Array.isArray(v) ? 'list' : typeof v}`);
    v = v[key];
  }
  return v;
}

function evalArg(a: Arg, s: Scope): Value {
  if (a.k === 'lit') return a.v;
  if (a.k === 'fn') return call(a.name, []);
  let base: Value;
  if (a.base === 'dot') base = s.dot;
  else if ('var' in a.base) {
    if (!s.vars.has(a.base.var)) throw execFail(`undefined variable: ${a.base.var}`);
    base = s.vars.get(a.base.var);
  } else base = evalPipe(a.base.sub, s);
  return field(base, a.path);
}

function evalPipe(p: Pipe, s: Scope): Value {
  let prev: Value;
  let first = true;
  for (const cmd of p.cmds) {
    const [head, ...rest] = cmd as [Arg, ...Arg[]];
    const args = rest.map((a) => evalArg(a, s));
    if (!first) args.push(prev);
    if (head.k === 'fn') prev = call(head.name, args);
    else {
      if (args.length > 0) throw execFail(`can't give argument to non-function ${show(evalArg(head, s))}`);
      prev = evalArg(head, s);
    }
    first = false;
  }
  if (p.decl.length === 1) s.vars.set(p.decl[0]!, prev);
  return prev;
}

function exec(nodes: Node[], s: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.k) {
      case 'text':
        out.push(n.text);
        break;
      case 'action': {
        const v = evalPipe(n.pipe, s);
        if (n.pipe.decl.length === 0) out.push(show(v));
        break;
      }
      case 'if':
      case 'with': {
        const inner: Scope = { dot: s.dot, vars: new Map(s.vars) };
        const v = evalPipe(n.pipe, inner);
        if (truthy(v)) exec(n.body, n.k === 'with' ? { dot: v, vars: inner.vars } : inner, out);
        else exec(n.orElse, { dot: s.dot, vars: new Map(s.vars) }, out);
        break;
      }
      case 'range': {
        const vars = new Map(s.vars);
        const v = evalPipe({ decl: [], cmds: n.pipe.cmds }, { dot: s.dot, vars });
        let items: [Value, Value][];
        if (Array.isArray(v)) items = v.map((x, i) => [i, x]);
        else if (isObject(v)) items = sortedKeys(v).map((k) => [k, v[k]]);
        else if (typeof v === 'number') items = Array.from({ length: v }, (_x, i) => [i, i]);
        else if (v === undefined || v === null) items = [];
        else throw execFail(`range can't iterate over ${show(v)}`);
        if (items.length === 0) exec(n.orElse, { dot: s.dot, vars }, out);
        for (const [k, x] of items) {
          const d = n.pipe.decl;
          if (d.length === 1) vars.set(d[0]!, x);
          if (d.length === 2) {
            vars.set(d[0]!, k);
            vars.set(d[1]!, x);
          }
          exec(n.body, { dot: x, vars }, out);
        }
        break;
      }
    }
  }
}

/** A parsed template, to render many rows with. */
export type Template = (obj: unknown) => string;

/** Parses `template` (a parse error names the problem, as Docker's "Template parsing error"). */
export function parseTemplate(template: string): Template {
  const nodes = parse(template.replace(/\\t/g, '\t').replace(/\\n/g, '\n'));
  return (obj) => {
    const out: string[] = [];
    exec(nodes, { dot: obj, vars: new Map([['$', obj]]) }, out);
    return out.join('');
  };
}

/** Renders `template` against `obj`. */
export function renderTemplate(template: string, obj: unknown): string {
  return parseTemplate(template)(obj);
}
