/**
 * Dockerfile words, after Docker's shell lexer: quotes (`'...'` literal, `"..."` expanding),
 * the esc character, and variable substitution: `$V`, `${V}`, `${V:-word}`, `${V-word}`,
 * `${V:+word}`, `${V+word}`, `${V:?message}`, `${V?message}`. Words are never run through a
 * shell; this is the expansion Docker does itself for FROM, COPY, ENV, WORKDIR and the rest.
 */
import { invalidArgument } from '../../core/errors.js';

/** Variables in scope: a name missing from the map is unset (`${V-x}` tells the two apart). */
export type Vars = ReadonlyMap<string, string>;

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

interface Piece {
  text: string;
  /** Whether the text came from an unquoted expansion (split into words by {@link words}). */
  split: boolean;
}

class Lexer {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly vars: Vars,
    private readonly esc: string,
  ) {}

  /** Reads pieces up to the end, or (with `stopAt`) up to an unquoted `stopAt` character. */
  run(stopAt?: string, splitWords = false): { pieces: Piece[][]; stopped: boolean } {
    const words: Piece[][] = [[]];
    const cur = () => words[words.length - 1]!;
    const push = (text: string, split = false) => cur().push({ text, split });
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (stopAt !== undefined && c === stopAt) {
        this.i++;
        return { pieces: words, stopped: true };
      }
      if (splitWords && /\s/.test(c)) {
        this.i++;
        if (cur().length > 0) words.push([]);
        continue;
      }
      if (c === this.esc) {
        this.i++;
        if (this.i < this.s.length) push(this.s[this.i++]!);
        continue;
      }
      if (c === "'") {
        const end = this.s.indexOf("'", this.i + 1);
        if (end < 0)
          throw invalidArgument(`unexpected end of statement while looking for matching single-quote`);
        push(this.s.slice(this.i + 1, end));
        this.i = end + 1;
        continue;
      }
      if (c === '"') {
        this.i++;
        push(this.doubleQuoted());
        continue;
      }
      if (c === '$') {
        const v = this.dollar();
        if (v !== undefined) push(v, splitWords);
        continue;
      }
      push(c);
      this.i++;
    }
    return { pieces: words, stopped: false };
  }

  private doubleQuoted(): string {
    let out = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === this.esc) {
        const next = this.s[this.i + 1];
        // Inside double quotes the escape character only escapes what the shell would: `"`, `$`, itself.
        if (next === '"' || next === '$' || next === this.esc) {
          out += next;
          this.i += 2;
          continue;
        }
      }
      if (c === '$') {
        const v = this.dollar();
        if (v !== undefined) out += v;
        continue;
      }
      out += c;
      this.i++;
    }
    throw invalidArgument('unexpected end of statement while looking for matching double-quote');
  }

  /** Expands `$...` at the cursor (which is on the `$`). */
  private dollar(): string | undefined {
    this.i++;
    const c = this.s[this.i];
    if (c === '{') {
      this.i++;
      const name = this.name();
      if (!name) throw invalidArgument(`bad substitution: "${this.s}"`);
      const set = this.vars.has(name);
      const value = this.vars.get(name) ?? '';
      if (this.s[this.i] === '}') {
        this.i++;
        return value;
      }
      let op = this.s[this.i] ?? '';
      this.i++;
      if (op === ':') {
        op += this.s[this.i] ?? '';
        this.i++;
      }
      if (!['-', '+', '?', ':-', ':+', ':?'].includes(op))
        throw invalidArgument(`unsupported modifier (${op}) in substitution: "${this.s}"`);
      const { pieces, stopped } = this.run('}');
      if (!stopped) throw invalidArgument(`missing '}' in substitution: "${this.s}"`);
      const word = pieces
        .flat()
        .map((p) => p.text)
        .join('');
      const present = op.startsWith(':') ? set && value !== '' : set;
      switch (op.replace(':', '')) {
        case '-':
          return present ? value : word;
        case '+':
          return present ? word : '';
        default:
          if (!present) throw invalidArgument(`${name}: ${word || 'is not allowed to be unset'}`);
          return value;
      }
    }
    if (c !== undefined && NAME_START.test(c)) {
      const name = this.name();
      return this.vars.get(name) ?? '';
    }
    // A lone `$` (or `$` before something that is no name) is kept as written.
    return '$';
  }

  private name(): string {
    const start = this.i;
    if (!NAME_START.test(this.s[this.i] ?? '')) return '';
    while (this.i < this.s.length && NAME_CHAR.test(this.s[this.i]!)) this.i++;
    return this.s.slice(start, this.i);
  }
}

/** One word: quotes removed, variables expanded (Docker's ProcessWord). */
export function expandWord(word: string, vars: Vars, esc = '\\'): string {
  return new Lexer(word, vars, esc)
    .run()
    .pieces.flat()
    .map((p) => p.text)
    .join('');
}

/**
 * Several words split on unquoted white space, then expanded (Docker's ProcessWords); an
 * unquoted expansion that holds white space becomes several words.
 */
export function expandWords(text: string, vars: Vars, esc = '\\'): string[] {
  const out: string[] = [];
  for (const pieces of new Lexer(text, vars, esc).run(undefined, true).pieces) {
    // A word made only of empty unquoted expansions vanishes, as in a shell; `""` stays.
    let words: { text: string; literal: boolean }[] = [{ text: '', literal: false }];
    for (const p of pieces) {
      const last = words[words.length - 1]!;
      if (!p.split) {
        last.text += p.text;
        last.literal = true;
        continue;
      }
      const parts = p.text.split(/\s+/);
      last.text += parts[0];
      words = [...words, ...parts.slice(1).map((text) => ({ text, literal: false }))];
    }
    for (const w of words) if (w.literal || w.text !== '') out.push(w.text);
  }
  return out;
}

/**
 * Splits on unquoted white space but keeps quotes and escapes as written (expansion comes
 * later, per word): how ENV and LABEL find their `key=value` pairs.
 */
export function splitKeepingQuotes(text: string, esc = '\\'): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === '' && /\s/.test(c)) {
      if (any) out.push(cur);
      cur = '';
      any = false;
      continue;
    }
    any = true;
    if (c === esc && quote !== "'" && i + 1 < text.length) {
      cur += c + text[++i];
      continue;
    }
    if (quote === '' && (c === '"' || c === "'")) quote = c;
    else if (c === quote) quote = '';
    cur += c;
  }
  if (quote !== '') throw invalidArgument(`unexpected end of statement while looking for matching ${quote}`);
  if (any) out.push(cur);
  return out;
}
