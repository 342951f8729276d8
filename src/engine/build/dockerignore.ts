/**
 * `.dockerignore`, with the semantics of moby's patternmatcher: one pattern a line, `#`
 * comments, `!` exceptions, `*` and `?` within one path component, `**` across any number of
 * them, `[...]` classes and `\` escapes. A pattern that matches a folder matches everything
 * below it; the last pattern that matches a path decides.
 */
import { posix } from 'node:path';
import { invalidArgument } from '../../core/errors.js';

interface Pattern {
  text: string;
  exclusion: boolean;
  re: RegExp;
}

export class IgnoreRules {
  private readonly patterns: Pattern[];

  constructor(lines: readonly string[]) {
    this.patterns = [];
    for (const raw of lines) {
      let p = raw.trim();
      if (p === '' || p.startsWith('#')) continue;
      const exclusion = p.startsWith('!');
      if (exclusion) p = p.slice(1).trim();
      if (p === '') throw invalidArgument('.dockerignore: illegal exclusion pattern: "!"');
      p = posix.normalize(p).replace(/^\/+/, '').replace(/\/+$/, '');
      if (p === '' || p === '.') continue;
      this.patterns.push({ text: p, exclusion, re: toRegExp(p) });
    }
  }

  /** Parses the text of a .dockerignore file. */
  static parse(text: string): IgnoreRules {
    return new IgnoreRules(text.split(/\r?\n/));
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** Whether any `!` pattern exists (then an ignored folder must still be walked). */
  get hasExclusions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** Whether `path` (relative to the context, `/`-separated) is left out. */
  ignores(path: string): boolean {
    const clean = posix.normalize(path).replace(/^\/+/, '');
    const parents: string[] = [];
    const parts = clean.split('/');
    for (let i = 1; i < parts.length; i++) parents.push(parts.slice(0, i).join('/'));
    let matched = false;
    for (const p of this.patterns) {
      // Only a pattern that could change the answer is tried (moby's MatchesOrParentMatches).
      if (p.exclusion !== matched) continue;
      if (p.re.test(clean) || parents.some((d) => p.re.test(d))) matched = !p.exclusion;
    }
    return matched;
  }
}

/** A pattern as an anchored regular expression, after patternmatcher's compile. */
function toRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        // `**/` is `**`: zero or more folders.
        if (pattern[i + 1] === '/') i++;
        re += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      i++;
      if (i >= pattern.length)
        throw invalidArgument(`.dockerignore: bad pattern "${pattern}": trailing backslash`);
      re += escapeChar(pattern[i]!);
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) throw invalidArgument(`.dockerignore: bad pattern "${pattern}": unclosed [`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('!')) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += escapeChar(c);
  }
  return new RegExp(`${re}$`, 's');
}

function escapeChar(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}
