/**
 * The Dockerfile parser, as Docker's reference describes the language: parser directives
 * (`# syntax=`, `# escape=`) at the top, comments, line continuations with the escape
 * character, heredocs (`RUN <<EOF`, `COPY <<EOF /file`), `--flag=value` options checked per
 * instruction, and exec (JSON) or shell forms. Errors name the file and line:
 * `Dockerfile:3: unknown instruction: FORM`. Expansion of variables is left to the builder,
 * which knows which ARGs and ENVs are in scope at each line.
 */
import { type BerthError, invalidArgument } from '../../core/errors.js';

export interface Heredoc {
  /** The delimiter word (`EOF`). */
  name: string;
  /** The lines between the instruction and the delimiter, each ending in a newline. */
  content: string;
  /** False when the delimiter was quoted (`<<"EOF"`): no variable expansion in the body. */
  expand: boolean;
  /** `<<-EOF`: leading tabs are stripped from the body and the delimiter line. */
  stripTabs: boolean;
}

export interface Instruction {
  /** The instruction's first line in the file (1-based). */
  line: number;
  /** Upper case: `RUN`, `COPY`, ... */
  cmd: string;
  /** `--name=value` options in order (a flag without `=` has the value `true`). */
  flags: [string, string][];
  /** The text after the instruction and its flags, continuations joined. */
  args: string;
  /** The exec form's list, when `args` is a JSON array of strings. */
  json?: string[];
  heredocs: Heredoc[];
  /** The whole instruction as written after joining lines (history and error messages). */
  original: string;
}

export interface Dockerfile {
  /** Parser directives found at the top (`syntax`, `escape`, `check`), names lower case. */
  directives: Record<string, string>;
  escape: string;
  instructions: Instruction[];
  /** The file's name in messages. */
  file: string;
}

/** The flags each instruction takes; boolean ones may be given without a value. */
const FLAGS: Record<string, { values: string[]; booleans?: string[] }> = {
  FROM: { values: ['platform'] },
  RUN: { values: ['mount', 'network', 'security'] },
  COPY: { values: ['from', 'chown', 'chmod', 'exclude'], booleans: ['link', 'parents'] },
  ADD: { values: ['chown', 'chmod', 'checksum', 'exclude'], booleans: ['link', 'keep-git-dir'] },
  HEALTHCHECK: { values: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'] },
};

const INSTRUCTIONS = new Set([
  'FROM',
  'RUN',
  'CMD',
  'LABEL',
  'MAINTAINER',
  'EXPOSE',
  'ENV',
  'ADD',
  'COPY',
  'ENTRYPOINT',
  'VOLUME',
  'USER',
  'WORKDIR',
  'ARG',
  'ONBUILD',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
]);

/** Instructions whose shell form may open heredocs. */
const HEREDOC_INSTRUCTIONS = new Set(['RUN', 'COPY', 'ADD']);

const DIRECTIVES = new Set(['syntax', 'escape', 'check']);

/** An error at one line of the Dockerfile, in the `FILE:LINE: message` shape. */
export function lineError(file: string, line: number, message: string, cause?: unknown): BerthError {
  return invalidArgument(`${file}:${line}: ${message}`, cause);
}

/** Parses the text of a Dockerfile. */
export function parseDockerfile(text: string, file = 'Dockerfile'): Dockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const directives: Record<string, string> = {};
  let i = 0;
  // Directives come first; the first line that is not one ends them (Docker's rule).
  for (; i < lines.length; i++) {
    const m = /^\s*#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$/.exec(lines[i]!);
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (!DIRECTIVES.has(key)) break;
    if (key in directives) throw lineError(file, i + 1, `only one ${key} parser directive can be used`);
    directives[key] = m[2]!;
  }
  const esc = directives.escape ?? '\\';
  if (esc !== '\\' && esc !== '`')
    throw lineError(file, 1, `invalid escape token '${esc}' does not match ` + '` or \\');
  const continued = new RegExp(`${esc === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  const instructions: Instruction[] = [];
  while (i < lines.length) {
    const first = lines[i]!;
    const start = i + 1;
    i++;
    const trimmed = first.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    let text = first;
    while (continued.test(text)) {
      text = text.replace(continued, '');
      // Comment lines and empty lines inside a continued instruction are dropped.
      while (i < lines.length && (lines[i]!.trim() === '' || lines[i]!.trimStart().startsWith('#'))) i++;
      if (i >= lines.length) break;
      text += lines[i++];
    }
    const ins = parseInstruction(file, start, text.trim());
    if (ins.heredocs.length > 0) {
      for (const h of ins.heredocs) {
        const body: string[] = [];
        for (;;) {
          if (i >= lines.length)
            throw lineError(file, start, `unterminated heredoc: no line "${h.name}" after the instruction`);
          const raw = lines[i++]!;
          const l = h.stripTabs ? raw.replace(/^\t+/, '') : raw;
          if (l === h.name) break;
          body.push(`${l}\n`);
        }
        h.content = body.join('');
      }
    }
    instructions.push(ins);
  }
  return { directives, escape: esc, instructions, file };
}

function parseInstruction(file: string, line: number, text: string): Instruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(text)!;
  const cmd = m[1]!.toUpperCase();
  if (!INSTRUCTIONS.has(cmd)) throw lineError(file, line, `unknown instruction: ${m[1]}`);
  let rest = m[2]!;
  const flags: [string, string][] = [];
  const allowed = FLAGS[cmd];
  // Flags lead the arguments: `--name=value` words until the first word that is not one.
  for (;;) {
    const f = /^--([A-Za-z][A-Za-z0-9-]*)(=(\S*))?(\s+|$)/.exec(rest);
    if (!f) break;
    const name = f[1]!;
    const isBool = allowed?.booleans?.includes(name);
    if (!allowed || (!allowed.values.includes(name) && !isBool))
      throw lineError(file, line, `unknown flag: ${name}`);
    if (f[2] === undefined && !isBool) throw lineError(file, line, `missing a value on flag: ${name}`);
    flags.push([name, f[3] ?? 'true']);
    rest = rest.slice(f[0].length);
  }
  const args = rest.trim();
  const ins: Instruction = { line, cmd, flags, args, heredocs: [], original: text };
  if (args.startsWith('[')) {
    const json = jsonForm(args);
    if (json) ins.json = json;
  }
  if (!ins.json && HEREDOC_INSTRUCTIONS.has(cmd)) {
    const re = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\2/g;
    for (let h = re.exec(args); h; h = re.exec(args)) {
      ins.heredocs.push({ name: h[3]!, content: '', expand: h[2] === '', stripTabs: h[1] === '-' });
    }
  }
  checkArity(file, ins);
  return ins;
}

/** The exec form: a JSON array of strings, or undefined (then it is shell form, as in Docker). */
function jsonForm(args: string): string[] | undefined {
  try {
    const v: unknown = JSON.parse(args);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // Not JSON: Docker then takes the text as shell form.
  }
  return undefined;
}

function checkArity(file: string, ins: Instruction): void {
  const need = (ok: boolean, what: string) => {
    if (!ok) throw lineError(file, ins.line, `${ins.cmd} ${what}`);
  };
  const n = ins.args === '' ? 0 : ins.args.split(/\s+/).length;
  switch (ins.cmd) {
    case 'FROM':
      need(
        n === 1 || (n === 3 && /^as$/i.test(ins.args.split(/\s+/)[1]!)),
        'requires either one or three arguments',
      );
      break;
    case 'COPY':
    case 'ADD':
      need(
        ins.json ? ins.json.length >= 2 : n >= 2 || (ins.heredocs.length > 0 && n >= 1),
        'requires at least two arguments',
      );
      break;
    case 'ARG':
    case 'ENV':
    case 'LABEL':
    case 'EXPOSE':
    case 'VOLUME':
    case 'USER':
    case 'WORKDIR':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
    case 'ONBUILD':
    case 'RUN':
    case 'HEALTHCHECK':
      need(n > 0, 'requires at least one argument');
      break;
    case 'SHELL':
      need(ins.json !== undefined && ins.json.length > 0, 'requires the arguments to be in JSON form');
      break;
  }
  if (ins.cmd === 'ONBUILD') {
    const inner = ins.args.split(/\s+/)[0]!.toUpperCase();
    if (inner === 'ONBUILD')
      throw lineError(file, ins.line, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (inner === 'FROM' || inner === 'MAINTAINER')
      throw lineError(file, ins.line, `${inner} isn't allowed as an ONBUILD trigger`);
  }
}

/** Parses the instruction an ONBUILD trigger holds (when an image built with it is used in FROM). */
export function parseTrigger(text: string, file: string, line: number): Instruction {
  return parseInstruction(file, line, text.trim());
}

/** The flag `name`'s last value (`--from=a --from=b` means b, as Docker's flag parser). */
export function flag(ins: Instruction, name: string): string | undefined {
  let v: string | undefined;
  for (const [k, value] of ins.flags) if (k === name) v = value;
  return v;
}

/** Every value of a repeatable flag (`--mount`). */
export function flags(ins: Instruction, name: string): string[] {
  return ins.flags.filter(([k]) => k === name).map(([, v]) => v);
}
