/**
 * The stage graph of a Dockerfile: the ARGs before the first FROM (visible only to FROM
 * lines), each stage with its base (an image, or an earlier stage by name), and the stages
 * it reads from (`COPY --from`, `RUN --mount=from=`). Only the stages the target needs are
 * planned, so an unused stage that would fail is never built, as BuildKit does.
 */
import { invalidArgument } from '../../core/errors.js';
import { hostPlatform } from '../image/oci.js';
import { type Dockerfile, flag, flags, type Instruction, lineError } from './dockerfile.js';
import { expandWord, type Vars } from './words.js';

/** ARGs every build knows without an ARG line (Docker's predefined proxy arguments). */
export const PROXY_ARGS: readonly string[] = [
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
];

/** BuildKit's automatic platform ARGs, in the global scope; a stage sees one after `ARG NAME`. */
export function platformArgs(): Map<string, string> {
  const p = hostPlatform();
  const platform = `${p.os}/${p.architecture}`;
  return new Map([
    ['TARGETPLATFORM', platform],
    ['TARGETOS', p.os],
    ['TARGETARCH', p.architecture],
    ['TARGETVARIANT', ''],
    ['BUILDPLATFORM', platform],
    ['BUILDOS', p.os],
    ['BUILDARCH', p.architecture],
    ['BUILDVARIANT', ''],
  ]);
}

export interface Stage {
  index: number;
  /** Lower case, as Docker compares them; absent for an unnamed stage. */
  name?: string;
  /** The FROM line. */
  from: Instruction;
  /** The base after expansion: an image reference or an earlier stage's name. */
  base: string;
  /** The earlier stage the base names, if it names one. */
  baseStage?: number;
  instructions: Instruction[];
  /** Stages this one reads from, found without running it (`--from` values as written or with global ARGs). */
  deps: Set<number>;
}

export interface Plan {
  stages: Stage[];
  /** The stage to build. */
  target: number;
  /** Global ARGs (before the first FROM) with their values. */
  globals: Map<string, string>;
  /** The stages the target needs (itself included), in file order. */
  needed: number[];
}

/** ARG line entries: `NAME` or `NAME=default`, several on one line. */
export function argEntries(
  file: string,
  ins: Instruction,
  vars: Vars,
  esc: string,
): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  for (const word of ins.args.split(/\s+/)) {
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw lineError(file, ins.line, `invalid ARG name "${name}"`);
    out.push([name, eq < 0 ? undefined : expandWord(word.slice(eq + 1), vars, esc)]);
  }
  return out;
}

/** Splits the file into stages and picks what `target` (a stage name, or the last stage) needs. */
export function planStages(df: Dockerfile, buildArgs: ReadonlyMap<string, string>, target?: string): Plan {
  const globals = platformArgs();
  const stages: Stage[] = [];
  const byName = new Map<string, number>();
  for (const ins of df.instructions) {
    if (ins.cmd === 'FROM') {
      const words = ins.args.split(/\s+/);
      let base: string;
      try {
        base = expandWord(words[0]!, globals, df.escape);
      } catch (e) {
        throw lineError(df.file, ins.line, (e as Error).message, e);
      }
      if (base === '') throw lineError(df.file, ins.line, `base name (${words[0]}) should not be blank`);
      const name = words[2]?.toLowerCase();
      if (name !== undefined) {
        if (!/^[a-z][a-z0-9-_.]*$/.test(name))
          throw lineError(
            df.file,
            ins.line,
            `invalid name for build stage: "${name}", name can't start with a number or contain symbols`,
          );
        if (byName.has(name)) throw lineError(df.file, ins.line, `duplicate stage name "${name}"`);
      }
      const stage: Stage = { index: stages.length, from: ins, base, instructions: [], deps: new Set() };
      if (name !== undefined) stage.name = name;
      const earlier = byName.get(base.toLowerCase());
      if (earlier !== undefined) {
        stage.baseStage = earlier;
        stage.deps.add(earlier);
      }
      if (name !== undefined) byName.set(name, stage.index);
      stages.push(stage);
      continue;
    }
    const current = stages[stages.length - 1];
    if (!current) {
      if (ins.cmd !== 'ARG')
        throw lineError(df.file, ins.line, `no build stage in current context (${ins.cmd} before FROM)`);
      for (const [name, value] of argEntries(df.file, ins, globals, df.escape)) {
        const v = buildArgs.get(name) ?? value;
        if (v !== undefined) globals.set(name, v);
        else globals.delete(name);
      }
      continue;
    }
    current.instructions.push(ins);
    const from = ins.cmd === 'COPY' ? flag(ins, 'from') : undefined;
    const refs = [
      ...(from !== undefined ? [from] : []),
      ...(ins.cmd === 'RUN'
        ? flags(ins, 'mount').flatMap((m) => /(?:^|,)from=([^,]+)/.exec(m)?.[1] ?? [])
        : []),
    ];
    for (const ref of refs) {
      const dep = stageRef(ref, globals, byName, stages.length - 1, df.escape);
      if (dep !== undefined) current.deps.add(dep);
    }
  }
  if (stages.length === 0) throw invalidDockerfile(df, 'the Dockerfile has no FROM instruction');
  let targetIndex = stages.length - 1;
  if (target !== undefined) {
    const t = byName.get(target.toLowerCase());
    if (t === undefined) throw invalidArgument(`target stage "${target}" could not be found`);
    targetIndex = t;
  }
  const needed = new Set<number>();
  const visit = (i: number) => {
    if (needed.has(i)) return;
    needed.add(i);
    for (const d of stages[i]!.deps) visit(d);
  };
  visit(targetIndex);
  return { stages, target: targetIndex, globals, needed: [...needed].sort((a, b) => a - b) };
}

/** The earlier stage a `--from` value names (by name or index), if it names one. */
export function stageRef(
  ref: string,
  vars: Vars,
  byName: ReadonlyMap<string, number>,
  before: number,
  esc = '\\',
): number | undefined {
  let v: string;
  try {
    v = expandWord(ref, vars, esc).toLowerCase();
  } catch {
    return undefined;
  }
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    return n < before ? n : undefined;
  }
  return byName.get(v);
}

function invalidDockerfile(df: Dockerfile, message: string) {
  return lineError(df.file, df.instructions[0]?.line ?? 1, message);
}
