/**
 * The image builder: runs a Dockerfile's stages on the engine facade. Each stage starts from
 * an image (pulled as needed), an earlier stage or `scratch`; metadata instructions change
 * the image config; RUN runs as a real container with the isolation of `berth run` (the
 * default bridge network unless `--network`) and COPY/ADD write into a stopped container's
 * root filesystem; either way the container's upper folder becomes the step's layer through
 * the differ (whiteouts for deletions). Every step is looked up in the layer cache first.
 *
 * The stages the target needs start at once and wait on each other only where one reads
 * another, so independent stages run in parallel. Input is a context folder (a tar is
 * unpacked first, see context.ts) and the Dockerfile text; output goes to the given stream.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  createWriteStream,
  fstatSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readSync,
  rmdirSync,
  rmSync,
  type Stats,
  unlinkSync,
} from 'node:fs';
import { posix } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, failedPrecondition, invalidArgument, isAlreadyExists } from '../../core/errors.js';
import type { MountSpec, TmpfsSpec } from '../container/config.js';
import type { EngineContext } from '../container/context.js';
import { withRootfs } from '../container/copy.js';
import { containerLayers, mountPoints } from '../container/diff.js';
import { withContainerLock } from '../container/lock.js';
import { containerPaths } from '../container/paths.js';
import { unmountRootfs } from '../container/rootfs.js';
import type { ContainerRecord } from '../container/store.js';
import type { Engine } from '../engine.js';
import { readFileInRoot } from '../fs/in-root.js';
import { addImage, findImage, readImageConfig, readManifest } from '../image/image-store.js';
import { type Descriptor, hostPlatform, type Manifest, MediaType } from '../image/oci.js';
import { familiarName, normalizeReference } from '../image/reference.js';
import type { ImageRuntimeConfig } from '../image/resolved-image.js';
import { ensureImage } from '../registry/ensure.js';
import { resolveUser } from '../runtime/user.js';
import { Beneath } from '../snapshot/beneath.js';
import { type DiffOptions, runtimeOnlyEntries, writeLayer } from '../snapshot/differ.js';
import { chainIds, hasSnapshot, openLayer, snapshotterOf } from '../snapshot/snapshots.js';
import { unpackLayer } from '../snapshot/unpack.js';
import { BuildCache, cacheKey, cacheMountsDir, type ImageState, stateId } from './cache.js';
import { applyConfigInstruction, DEFAULT_SHELL } from './config-step.js';
import type { BuildContext } from './context.js';
import {
  checksumSources,
  copyInto,
  folderIn,
  openSource,
  type SourceItem,
  type SourceRoot,
  selectSources,
} from './copy.js';
import {
  type Dockerfile,
  flag,
  flags,
  type Instruction,
  lineError,
  parseDockerfile,
  parseTrigger,
} from './dockerfile.js';
import { fetchUrl } from './fetch-url.js';
import { BuildProgress, type StepProgress } from './progress.js';
import { argEntries, type Plan, PROXY_ARGS, planStages, type Stage, stageRef } from './stages.js';
import { expandWord, expandWords } from './words.js';

export interface BuildOptions {
  /** The Dockerfile's text, and its name in messages. */
  dockerfile: string;
  dockerfileName?: string;
  context: BuildContext;
  /** `-t`: names for the result. */
  tags?: string[];
  buildArgs?: ReadonlyMap<string, string>;
  target?: string;
  noCache?: boolean;
  /** `--pull`: always pull base images. */
  pull?: boolean;
  /** `--label`: added to the result's config. */
  labels?: Record<string, string>;
  /** `--network` for RUN steps: `bridge` (default), `none`, `host` or a network's name. */
  network?: string;
  /** `--secret id=X,src=F`: secret id to host file. */
  secrets?: ReadonlyMap<string, string>;
  /** Progress and RUN output. */
  progress: Writable;
  signal?: AbortSignal;
}

export interface BuildResult {
  /** The image ID (`sha256:...`). */
  id: string;
  /** The normalised names it got. */
  names: string[];
  /** Steps taken from the cache, and steps run. */
  cached: number;
  executed: number;
}

/** A failed RUN: Docker's message, and the step's command and exit status for the CLI's own. */
export class RunFailed extends BerthError {
  readonly exitCode: number;
  readonly command: readonly string[];
  constructor(file: string, line: number, command: string[], code: number) {
    super(
      'FailedPrecondition',
      `${file}:${line}: process "${command.join(' ')}" did not complete successfully: exit code: ${code}`,
    );
    this.exitCode = code;
    this.command = command;
  }
}

const NOP_COMMENT = 'buildkit.dockerfile.v0';
/** A long COPY reports its progress every this many files. */
const COPY_PROGRESS_EVERY = 500;
const copiedLine = (files: number, bytes: number) => `copied ${files} files, ${(bytes / 1e6).toFixed(1)} MB`;

/** Builds an image; resolves with its ID once it is stored (and named). */
export async function buildImage(engine: Engine, o: BuildOptions): Promise<BuildResult> {
  const df = parseDockerfile(o.dockerfile, o.dockerfileName ?? 'Dockerfile');
  const buildArgs = o.buildArgs ?? new Map<string, string>();
  const plan = planStages(df, buildArgs, o.target);
  const builder = new Builder(engine, o, df, plan, buildArgs);
  return builder.build();
}

/** Mutable state of one stage while its instructions run. */
interface StageRun {
  stage: Stage;
  state: ImageState;
  /** ARGs declared in this stage, with their values. */
  args: Map<string, string>;
  /** Whether CMD was set in this stage (ENTRYPOINT keeps it then). */
  cmdSet: boolean;
  label: string;
  step: number;
  steps: number;
}

class Builder {
  private readonly ctx: EngineContext;
  private readonly cache: BuildCache;
  private readonly progress: BuildProgress;
  private readonly results = new Map<number, Promise<ImageState>>();
  /** Step images added to the index for a RUN or COPY, with their users (parallel stages may share one). */
  private readonly stepImages = new Map<string, number>();
  private readonly usedArgs = new Set<string>();
  private cached = 0;
  private executed = 0;

  constructor(
    private readonly engine: Engine,
    private readonly o: BuildOptions,
    private readonly df: Dockerfile,
    private readonly plan: Plan,
    private readonly buildArgs: ReadonlyMap<string, string>,
  ) {
    this.ctx = engine.context;
    this.cache = new BuildCache(this.ctx.root);
    this.progress = new BuildProgress(o.progress);
  }

  async build(): Promise<BuildResult> {
    // Every needed stage starts now; each waits only on the stages it reads from. A stage's
    // failure reaches the user through the stage that awaits it (every needed stage is one
    // the target awaits), so this early start only keeps it from counting as unhandled.
    for (const i of this.plan.needed) void this.stageResult(i).catch(() => undefined);
    const state = await this.stageResult(this.plan.target);
    const unused = [...this.buildArgs.keys()].filter(
      (k) => !this.usedArgs.has(k) && !this.plan.globals.has(k) && !PROXY_ARGS.includes(k),
    );
    if (unused.length > 0)
      this.progress.line(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed`);
    const step = this.progress.step('exporting to image');
    const final = structuredClone(state);
    if (this.o.labels && Object.keys(this.o.labels).length > 0)
      final.config.config = {
        ...final.config.config,
        Labels: { ...(final.config.config?.Labels ?? {}), ...this.o.labels },
      };
    // The image's time is its last step's, so a rebuild from the cache gives the same ID.
    final.config.created = final.config.history?.at(-1)?.created ?? final.config.created;
    const names = (this.o.tags ?? []).map((t) => normalizeReference(t));
    const { manifestDigest, id } = await this.writeImage(final);
    step.log(`writing image ${id}`);
    await addImage(this.ctx.images, manifestDigest, names);
    for (const n of names) step.log(`naming to ${n}`);
    this.ctx.events.append('image', 'build', id, names[0] ? { name: familiarName(names[0]) } : {});
    step.done();
    return { id, names, cached: this.cached, executed: this.executed };
  }

  /** The result of stage `i`, built once however many stages ask. */
  private stageResult(i: number): Promise<ImageState> {
    let p = this.results.get(i);
    if (!p) {
      p = this.buildStage(this.plan.stages[i]!);
      this.results.set(i, p);
    }
    return p;
  }

  private async buildStage(stage: Stage): Promise<ImageState> {
    const label = stage.name ?? `stage-${stage.index}`;
    const steps = stage.instructions.length + 1;
    const r: StageRun = {
      stage,
      state: undefined as unknown as ImageState,
      args: new Map(),
      cmdSet: false,
      label,
      step: 1,
      steps,
    };
    const fromStep = this.progress.step(`[${label} 1/${steps}] FROM ${stage.base}`);
    if (stage.baseStage !== undefined) r.state = structuredClone(await this.stageResult(stage.baseStage));
    else r.state = await this.imageState(stage.base, stage.from, this.o.pull ?? false);
    fromStep.done();
    // ONBUILD triggers of the base run first, and are not passed on.
    const triggers = r.state.config.config?.OnBuild ?? [];
    if (triggers.length > 0) {
      r.state.config.config = { ...r.state.config.config, OnBuild: null };
      for (const t of triggers) await this.execute(r, parseTrigger(t, this.df.file, stage.from.line));
    }
    for (const ins of stage.instructions) {
      r.step++;
      await this.execute(r, ins);
    }
    return r.state;
  }

  /** The state of an image by reference (pulled when missing, or always with --pull), or scratch. */
  private async imageState(ref: string, at: Instruction, pull: boolean): Promise<ImageState> {
    if (ref === 'scratch') {
      const p = hostPlatform();
      return {
        config: {
          architecture: p.architecture,
          os: p.os,
          config: {},
          rootfs: { type: 'layers', diff_ids: [] },
          history: [],
        },
        layers: [],
      };
    }
    const store = this.ctx.images;
    try {
      const pulled = await ensureImage(store, ref, pull ? 'always' : 'missing', { signal: this.o.signal });
      if (pulled) this.ctx.events.append('image', 'pull', pulled.id, { name: pulled.names[0] ?? ref });
      const row = findImage(store, ref);
      const config = await readImageConfig(store, row);
      const manifest = await readManifest(store, row.manifestDigest);
      return { config: structuredClone(config), layers: manifest.layers };
    } catch (e) {
      throw lineError(this.df.file, at.line, `${at.cmd} ${ref}: ${(e as Error).message}`, e);
    }
  }

  /** The variables an instruction's words see: the stage's ARGs, then its ENV (ENV wins). */
  private vars(r: StageRun): Map<string, string> {
    const vars = new Map(r.args);
    for (const e of r.state.config.config?.Env ?? []) {
      const eq = e.indexOf('=');
      vars.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? '' : e.slice(eq + 1));
    }
    return vars;
  }

  /** Stops the build between (and after) steps once the caller has aborted it. */
  private checkCancelled(): void {
    if (this.o.signal?.aborted) throw new BerthError('Canceled', 'The build was cancelled');
  }

  private async execute(r: StageRun, ins: Instruction): Promise<void> {
    this.checkCancelled();
    const at = (e: unknown) =>
      e instanceof BerthError && (e.code === 'Canceled' || /^[^:]+:\d+: /.test(e.message))
        ? e
        : lineError(this.df.file, ins.line, (e as Error).message, e);
    try {
      switch (ins.cmd) {
        case 'RUN':
          return await this.runStep(r, ins);
        case 'COPY':
        case 'ADD':
          return await this.copy(r, ins);
        case 'ARG':
          return this.arg(r, ins);
        default:
          return await this.metadata(r, ins);
      }
    } catch (e) {
      throw at(e);
    }
  }

  private arg(r: StageRun, ins: Instruction): void {
    const step = this.progress.step(`[${r.label} ${r.step}/${r.steps}] ${ins.original}`);
    for (const [name, def] of argEntries(this.df.file, ins, this.vars(r), this.df.escape)) {
      this.usedArgs.add(name);
      const value = this.buildArgs.get(name) ?? def ?? this.plan.globals.get(name);
      if (value !== undefined) r.args.set(name, value);
      else r.args.delete(name);
    }
    step.done();
  }

  /** A step that only changes the config: an empty-layer history entry, cached for its time. */
  private async metadata(r: StageRun, ins: Instruction): Promise<void> {
    const vars = this.vars(r);
    const esc = this.df.escape;
    const title = `[${r.label} ${r.step}/${r.steps}] ${ins.original}`;
    const next = structuredClone(r.state.config);
    const c: ImageRuntimeConfig = next.config ?? {};
    next.config = c;
    const { createdBy, cmdSet } = applyConfigInstruction(c, next, ins, vars, esc, r.cmdSet);
    r.cmdSet = cmdSet;
    const key = cacheKey(r.state, `${createdBy}\n${JSON.stringify(c)}`);
    const hit = this.lookup(key);
    const step = this.progress.step(title);
    if (hit) {
      r.state = hit;
      step.cached();
      return;
    }
    next.history = [
      ...(next.history ?? []),
      { created: new Date().toISOString(), created_by: createdBy, comment: NOP_COMMENT, empty_layer: true },
    ];
    r.state = { config: next, layers: r.state.layers };
    await this.remember(key, r.state);
    step.done();
  }

  private lookup(key: string): ImageState | undefined {
    if (this.o.noCache) return undefined;
    const hit = this.cache.get(key, this.ctx.images.content);
    if (hit) this.cached++;
    return hit;
  }

  private remember(key: string, state: ImageState): Promise<void> {
    return this.cache.put(key, state);
  }

  /** RUN: the command in a container on the current state; its changes become a layer. */
  private async runStep(r: StageRun, ins: Instruction): Promise<void> {
    const c = r.state.config.config ?? {};
    const shell = c.Shell ?? DEFAULT_SHELL;
    let command: string[];
    if (ins.json) command = ins.json;
    else if (ins.heredocs.length > 0) command = [...shell, heredocScript(ins)];
    else command = [...shell, ins.args];
    const envNames = new Set((c.Env ?? []).map((e) => e.split('=')[0]!));
    const argEnv = [...r.args].filter(([k]) => !envNames.has(k));
    const proxies = PROXY_ARGS.filter((k) => this.buildArgs.has(k) && !r.args.has(k));
    const env = [
      ...argEnv.map(([k, v]) => `${k}=${v}`),
      ...proxies.map((k) => `${k}=${this.buildArgs.get(k)}`),
    ];
    const argPrefix =
      argEnv.length > 0 ? `|${argEnv.length} ${argEnv.map(([k, v]) => `${k}=${v}`).join(' ')} ` : '';
    const createdBy = `RUN ${argPrefix}${command.join(' ')} # buildkit`;
    const network = flag(ins, 'network') ?? 'default';
    if (!['default', 'none', 'host'].includes(network))
      throw invalidArgument(`unsupported RUN --network value "${network}": use default, none or host`);
    const mounts = flags(ins, 'mount');
    const key = cacheKey(r.state, JSON.stringify([createdBy, mounts, network, this.o.network ?? 'bridge']));
    const step = this.progress.step(`[${r.label} ${r.step}/${r.steps}] ${ins.original}`);
    const hit = this.lookup(key);
    if (hit) {
      r.state = hit;
      step.cached();
      return;
    }
    this.executed++;
    const spec = await this.runMounts(r, mounts);
    try {
      const layer = await this.withStepContainer(
        r.state,
        {
          command,
          env,
          network: network === 'default' ? (this.o.network ?? 'bridge') : network,
          mounts: spec.mounts,
          tmpfs: spec.tmpfs,
        },
        async (rec) => {
          const out = step.output();
          const err = step.output();
          const code = await this.engine.containers.startAttached(rec.id, {
            stdout: out,
            stderr: err,
            ...(this.o.signal ? { signal: this.o.signal } : {}),
          });
          out.end();
          err.end();
          // Cancelled while it ran: the container is removed (killed) on the way out.
          this.checkCancelled();
          if (code !== 0) {
            step.error(
              `process "${command.join(' ')}" did not complete successfully: exit code: ${code ?? 'unknown'}`,
            );
            throw new RunFailed(this.df.file, ins.line, command, code ?? 255);
          }
        },
      );
      r.state = this.withLayer(r.state, layer, createdBy);
    } finally {
      await spec.release();
    }
    await this.remember(key, r.state);
    step.done();
  }

  /** `RUN --mount=...` as container mounts: cache, bind, secret and tmpfs, as BuildKit has them. */
  private async runMounts(
    r: StageRun,
    specs: string[],
  ): Promise<{ mounts: MountSpec[]; tmpfs: TmpfsSpec[]; release(): Promise<void> }> {
    const mounts: MountSpec[] = [];
    const tmpfs: TmpfsSpec[] = [];
    const releases: (() => Promise<void>)[] = [];
    const release = async () => {
      for (const f of releases.reverse()) await f();
    };
    try {
      for (const spec of specs) {
        const f = mountFields(spec);
        const type = f.get('type') ?? 'bind';
        const target = f.get('target') ?? f.get('dst') ?? f.get('destination');
        const abs = (t: string) => posix.resolve(r.state.config.config?.WorkingDir || '/', t);
        switch (type) {
          case 'cache': {
            if (!target) throw invalidArgument(`--mount=${spec}: a cache mount needs a target`);
            const id = f.get('id') ?? abs(target);
            const dir = posix.join(
              cacheMountsDir(this.ctx.root),
              createHash('sha256').update(id).digest('hex'),
            );
            mkdirSync(dir, { recursive: true, mode: 0o755 });
            mounts.push({ type: 'bind', source: dir, destination: abs(target), readOnly: false });
            break;
          }
          case 'tmpfs':
            if (!target) throw invalidArgument(`--mount=${spec}: a tmpfs mount needs a target`);
            // Executable, unlike a container's tmpfs by default: a build step may run what it puts there.
            tmpfs.push({
              destination: abs(target),
              options: ['exec', ...(f.has('size') ? [`size=${f.get('size')}`] : [])],
            });
            break;
          case 'secret': {
            const id = f.get('id') ?? (target ? posix.basename(target) : undefined);
            if (!id) throw invalidArgument(`--mount=${spec}: a secret mount needs an id or a target`);
            const src = this.o.secrets?.get(id);
            if (!src) {
              if (f.get('required') === 'true' || f.has('required'))
                throw invalidArgument(`secret ${id} not found: give it with --secret id=${id},src=FILE`);
              break;
            }
            mounts.push({
              type: 'bind',
              source: src,
              destination: abs(target ?? `/run/secrets/${id}`),
              readOnly: true,
            });
            break;
          }
          case 'bind': {
            if (!target) throw invalidArgument(`--mount=${spec}: a bind mount needs a target`);
            const source = f.get('source') ?? f.get('src') ?? '.';
            const from = f.get('from');
            let rootDir = this.o.context.dir;
            let what = 'build context';
            if (from !== undefined) {
              const state = await this.fromState(r, from);
              const held = await this.holdRootfs(state);
              releases.push(held.release);
              rootDir = held.dir;
              what = `image ${from}`;
            }
            const [item] = selectSources({ dir: rootDir, what }, [source], 'RUN --mount');
            const host = posix.join(rootDir, ...(item!.parts ?? []));
            // Writes to a bind mount never reach the context: it is mounted read-only.
            mounts.push({ type: 'bind', source: host, destination: abs(target), readOnly: true });
            break;
          }
          default:
            throw new BerthError(
              'NotImplemented',
              `--mount type "${type}" is not supported (use cache, bind, secret or tmpfs)`,
            );
        }
      }
    } catch (e) {
      await release();
      throw e;
    }
    return { mounts, tmpfs, release };
  }

  /** The state `--from` names: an earlier stage (name or index) or an image. */
  private async fromState(r: StageRun, from: string): Promise<ImageState> {
    const byName = new Map<string, number>();
    for (const s of this.plan.stages) if (s.name !== undefined) byName.set(s.name, s.index);
    const vars = this.vars(r);
    const idx = stageRef(from, vars, byName, r.stage.index, this.df.escape);
    if (idx !== undefined) return this.stageResult(idx);
    const ref = expandWord(from, vars, this.df.escape);
    if (/^\d+$/.test(ref)) throw invalidArgument(`invalid --from: stage ${ref} is not an earlier stage`);
    return this.imageState(ref, r.stage.from, false);
  }

  /** Mounts a state's root filesystem (a stopped container of it) until `release`. */
  private async holdRootfs(state: ImageState): Promise<{ dir: string; release(): Promise<void> }> {
    let release!: () => void;
    const released = new Promise<void>((res) => {
      release = res;
    });
    let ready!: (dir: string) => void;
    let failed!: (e: unknown) => void;
    const dir = new Promise<string>((res, rej) => {
      ready = res;
      failed = rej;
    });
    const done = this.withStepContainer(
      state,
      { command: ['true'], env: [], network: 'none' },
      async (rec) => {
        await withRootfs(this.ctx, rec, async (merged) => {
          ready(merged);
          await released;
        });
      },
      false,
    ).catch((e: unknown) => {
      failed(e);
    });
    return {
      dir: await dir,
      release: async () => {
        release();
        await done;
      },
    };
  }

  /** COPY and ADD. */
  private async copy(r: StageRun, ins: Instruction): Promise<void> {
    const vars = this.vars(r);
    const esc = this.df.escape;
    const words = ins.json ? ins.json.map((w) => expandWord(w, vars, esc)) : expandWords(ins.args, vars, esc);
    if (words.length < 2 && ins.heredocs.length === 0)
      throw invalidArgument(`${ins.cmd} requires at least two arguments`);
    const destWord = words[words.length - 1]!;
    const srcWords = words.slice(0, -1);
    const c = r.state.config.config ?? {};
    const workdir = c.WorkingDir || '/';
    const dest = posix.isAbsolute(destWord)
      ? destWord
      : `${posix.resolve(workdir, destWord)}${destWord.endsWith('/') || destWord === '.' ? '/' : ''}`;
    for (const f of ['parents', 'exclude', 'checksum', 'keep-git-dir'])
      if (flag(ins, f) !== undefined)
        throw new BerthError('NotImplemented', `${ins.cmd} --${f} is not supported yet`);
    const from = ins.cmd === 'COPY' ? flag(ins, 'from') : undefined;
    const chownRaw = flag(ins, 'chown');
    const chmodRaw = flag(ins, 'chmod');
    const mode = chmodRaw === undefined ? undefined : parseChmod(chmodRaw);
    const step = this.progress.step(`[${r.label} ${r.step}/${r.steps}] ${ins.original}`);
    const createdBy = `${ins.cmd} ${[...ins.flags.filter(([k]) => k !== 'from').map(([k, v]) => `--${k}=${v}`), ...srcWords, destWord].join(' ')} # buildkit`;
    const what = JSON.stringify([createdBy, from ?? '', chownRaw ?? '', chmodRaw ?? '', dest]);
    const srcState = from !== undefined ? await this.fromState(r, from) : undefined;
    // A stage's or image's files are fixed by its ID: no need to read them for the key.
    const fromKey = srcState ? cacheKey(r.state, what, stateId(srcState)) : undefined;
    const early = fromKey ? this.lookup(fromKey) : undefined;
    if (early) {
      r.state = early;
      step.cached();
      return;
    }
    const held = srcState ? await this.holdRootfs(srcState) : undefined;
    const scratch: string[] = [];
    try {
      const root: SourceRoot = held
        ? { dir: held.dir, what: `stage ${from}` }
        : { dir: this.o.context.dir, ignore: this.o.context.ignore, what: 'build context' };
      const items: SourceItem[] = [];
      const locals: string[] = [];
      const heredocs = new Map(ins.heredocs.map((h) => [h.name, h]));
      for (const w of srcWords) {
        const h = /^<<-?["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?$/.exec(w);
        const doc = h ? heredocs.get(h[1]!) : undefined;
        if (doc) {
          const text = doc.expand ? expandVariables(doc.content, vars) : doc.content;
          items.push({ name: doc.name, inline: { data: Buffer.from(text), mode: 0o644 } });
        } else if (ins.cmd === 'ADD' && /^https?:\/\//i.test(w)) {
          items.push(await this.download(w, step, scratch));
        } else locals.push(w);
      }
      if (locals.length > 0) items.push(...selectSources(root, locals, ins.cmd));
      // ADD unpacks local tar archives into the destination instead of copying them.
      const archives = ins.cmd === 'ADD' && !held ? items.filter((i) => i.parts && isArchive(root, i)) : [];
      const plain = items.filter((i) => !archives.includes(i));
      const key = fromKey ?? cacheKey(r.state, what, checksumSources(root, items));
      const hit = fromKey ? undefined : this.lookup(key);
      if (hit) {
        r.state = hit;
        step.cached();
        return;
      }
      this.executed++;
      let files = 0;
      let bytes = 0;
      const layer = await this.withStepContainer(
        r.state,
        { command: ['true'], env: [], network: 'none' },
        async (rec) => {
          await withRootfs(this.ctx, rec, async (merged) => {
            const own = {
              ...ownerIn(merged, chownRaw ? expandWord(chownRaw, vars, esc) : ''),
              ...(mode !== undefined ? { mode } : {}),
              onFile: (size: number) => {
                files++;
                bytes += size;
                if (files % COPY_PROGRESS_EVERY === 0) step.log(copiedLine(files, bytes));
              },
            };
            if (plain.length > 0) copyInto(root, plain, merged, dest, own);
            for (const a of archives) {
              const into = folderIn(merged, dest, own);
              await unpackLayer(await openLayer(posix.join(root.dir, ...a.parts!)), into);
            }
          });
        },
      );
      if (files >= COPY_PROGRESS_EVERY) step.log(copiedLine(files, bytes));
      r.state = this.withLayer(r.state, layer, createdBy);
      await this.remember(key, r.state);
      step.done();
    } finally {
      await held?.release();
      for (const s of scratch) rmSync(s, { force: true });
    }
  }

  /** ADD of a URL: fetched whole (loopback in tests), named after the URL's last path part. */
  private async download(url: string, step: StepProgress, scratch: string[]): Promise<SourceItem> {
    step.log(`fetching ${url}`);
    const res = await fetchUrl(url, this.o.signal);
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) {
      res.resume();
      throw invalidArgument(`ADD failed: ${url} answered ${status} ${res.statusMessage ?? ''}`.trimEnd());
    }
    const dir = posix.join(this.ctx.root, 'tmp');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = posix.join(dir, `add-${randomBytes(8).toString('hex')}`);
    scratch.push(file);
    await pipeline(res, createWriteStream(file, { mode: 0o600 }));
    const modified = res.headers['last-modified'];
    const name = posix.basename(new URL(url).pathname) || 'index.html';
    return {
      name,
      inline: {
        data: readFileSync(file),
        mode: 0o600,
        ...(modified ? { mtime: new Date(modified) } : {}),
      },
    };
  }

  /**
   * Runs `work` on a container made from `state` (registered in the image index as an
   * unnamed step image while it is used), then writes its changes as a layer (unless
   * `layer` is false) and removes the container.
   */
  private async withStepContainer(
    state: ImageState,
    opts: { command: string[]; env: string[]; network: string; mounts?: MountSpec[]; tmpfs?: TmpfsSpec[] },
    work: (rec: ContainerRecord) => Promise<void>,
    layer = true,
  ): Promise<Awaited<ReturnType<typeof writeLayer>>> {
    const c = state.config.config ?? {};
    // The step image runs the step only: no image volumes (BuildKit mounts none while
    // building), no entrypoint; the rest (user, env, working folder) as the state has it.
    const runtime: ImageState = {
      config: {
        ...state.config,
        config: { ...c, Volumes: null, Entrypoint: null, Cmd: null, Healthcheck: undefined, OnBuild: null },
      },
      layers: state.layers,
    };
    const id = await this.holdStepImage(runtime);
    try {
      const rec = await this.engine.containers.create(
        { image: id, pull: 'never' },
        {
          name: `berth-build-${randomBytes(6).toString('hex')}`,
          entrypoint: [],
          command: opts.command,
          env: opts.env,
          network: opts.network,
          mounts: opts.mounts ?? [],
          tmpfs: opts.tmpfs ?? [],
          labels: { 'io.berth.build': 'step' },
        },
      );
      try {
        await work(rec);
        if (!layer) return { diffId: '', digest: '', size: 0 };
        const { upper, lowers } = await containerLayers(this.ctx, rec);
        const diffOptions = { mountPoints: mountPoints(rec), lowers };
        const blob = await writeLayer(upper, this.ctx.images.content, diffOptions);
        await this.keepAsSnapshot(rec, upper, diffOptions, state, blob.diffId);
        return blob;
      } finally {
        await this.engine.containers.rm(rec.id, { force: true, volumes: true });
      }
    } finally {
      this.releaseStepImage(id);
    }
  }

  /**
   * Makes the step container's snapshot the committed snapshot of the new layer, so the next
   * step mounts it at once instead of unpacking the blob just written. It then holds exactly
   * the layer: the runtime's empty mount points and the folders made only for them, which the
   * layer leaves out, are removed first (reached through fds, never through a symlink the step
   * made).
   */
  private async keepAsSnapshot(
    rec: ContainerRecord,
    upper: string,
    diffOptions: DiffOptions,
    state: ImageState,
    diffId: string,
  ): Promise<void> {
    const chains = chainIds([...state.config.rootfs.diff_ids, diffId]);
    const snapshotter = snapshotterOf(this.ctx.root);
    if (hasSnapshot(this.ctx.root, chains.at(-1)!)) return;
    await withContainerLock(this.ctx, rec.id, async () => {
      await unmountRootfs(containerPaths(this.ctx, rec.id));
      removeRuntimeOnly(upper, await runtimeOnlyEntries(upper, diffOptions));
      try {
        await snapshotter.commit(chains.at(-1)!, rec.id, { parent: chains.at(-2) ?? '' });
      } catch (e) {
        // The same layer committed meanwhile (a parallel stage): the container's copy goes with it.
        if (!isAlreadyExists(e)) throw e;
      }
    });
  }

  private async holdStepImage(state: ImageState): Promise<string> {
    const { id, manifestDigest } = await this.writeImage(state);
    const users = this.stepImages.get(id);
    if (users !== undefined) this.stepImages.set(id, users + 1);
    else if (this.ctx.images.index.get(id)) this.stepImages.set(id, Number.POSITIVE_INFINITY);
    else {
      await addImage(this.ctx.images, manifestDigest, []);
      this.stepImages.set(id, 1);
    }
    return id;
  }

  private releaseStepImage(id: string): void {
    const users = (this.stepImages.get(id) ?? 1) - 1;
    if (users > 0) {
      this.stepImages.set(id, users);
      return;
    }
    this.stepImages.delete(id);
    // Only the index row goes: the blobs stay for the cache and the final image.
    const row = this.ctx.images.index.get(id);
    if (row && row.names.length === 0) this.ctx.images.index.remove(id);
  }

  private withLayer(
    state: ImageState,
    layer: { diffId: string; digest: string; size: number },
    createdBy: string,
  ): ImageState {
    const config = structuredClone(state.config);
    config.rootfs = { type: 'layers', diff_ids: [...config.rootfs.diff_ids, layer.diffId] };
    config.history = [
      ...(config.history ?? []),
      { created: new Date().toISOString(), created_by: createdBy, comment: NOP_COMMENT },
    ];
    const desc: Descriptor = { mediaType: MediaType.ociLayerGzip, digest: layer.digest, size: layer.size };
    return { config, layers: [...state.layers, desc] };
  }

  /** Writes a state's config and manifest blobs. */
  private async writeImage(state: ImageState): Promise<{ id: string; manifestDigest: string }> {
    const content = this.ctx.images.content;
    const configBlob = await content.write(Buffer.from(JSON.stringify(state.config)));
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configBlob.digest, size: configBlob.size },
      layers: state.layers,
    };
    const manifestBlob = await content.write(Buffer.from(JSON.stringify(manifest)));
    if (configBlob.digest !== stateId(state))
      throw failedPrecondition('the image config changed while it was written');
    return { id: configBlob.digest, manifestDigest: manifestBlob.digest };
  }
}

/** Removes what the layer left out of a step's upper folder (`entries`, deepest first): the runtime's alone. */
function removeRuntimeOnly(upper: string, entries: readonly string[]): void {
  const tree = new Beneath(upper);
  try {
    for (const p of entries) {
      const parts = p.split('/');
      const dir = tree.find(parts.slice(0, -1));
      if (dir === undefined) continue;
      const path = tree.at(dir, parts.at(-1)!);
      let st: Stats;
      try {
        st = lstatSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      if (st.isFile() && st.size === 0) unlinkSync(path);
      else if (st.isDirectory() && readdirSync(path).length === 0) rmdirSync(path);
    }
  } finally {
    tree.close();
  }
}

/** `--chmod=755` (octal). */
function parseChmod(v: string): number {
  if (!/^[0-7]{3,4}$/.test(v))
    throw invalidArgument(`invalid --chmod value "${v}": expected an octal mode such as 755`);
  return Number.parseInt(v, 8);
}

/** `--chown=user:group` resolved in the destination's /etc/passwd and /etc/group; 0:0 when absent. */
function ownerIn(rootDir: string, chown: string): { uid: number; gid: number } {
  if (chown === '') return { uid: 0, gid: 0 };
  // Resolved inside the image's root: /etc or /etc/passwd may be a symlink to a host path.
  const read = (f: string) => readFileInRoot(rootDir, `/etc/${f}`);
  const [user = '', group] = chown.split(':', 2);
  const u = resolveUser(group === undefined ? user : `${user}:${group}`, read('passwd'), read('group'));
  // `--chown=user` alone takes the user's primary group, as Docker does.
  return { uid: u.uid, gid: u.gid };
}

/** `type=cache,target=/x,id=y` as a map; a bare word is a boolean (`required`, `rw`). */
function mountFields(spec: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) out.set(part.toLowerCase(), 'true');
    else out.set(part.slice(0, eq).toLowerCase(), part.slice(eq + 1));
  }
  return out;
}

/** A RUN heredoc as one shell script: the body alone when the heredoc is the whole command. */
function heredocScript(ins: Instruction): string {
  if (/^<<-?["']?[A-Za-z_][A-Za-z0-9_.-]*["']?$/.test(ins.args) && ins.heredocs.length === 1)
    return ins.heredocs[0]!.content;
  return `${ins.args}\n${ins.heredocs.map((h) => `${h.content}${h.name}\n`).join('')}`;
}

/** `$V` and `${V}` in a COPY heredoc body (no quote removal: the body is file content). */
function expandVariables(text: string, vars: Map<string, string>): string {
  return text.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_, a, b) => vars.get(a ?? b) ?? '',
  );
}

/** Whether an ADD source is a tar archive (plain, gzip or zstd), from its first bytes. */
function isArchive(root: SourceRoot, item: SourceItem): boolean {
  const src = openSource(root, item);
  try {
    if (!fstatSync(src.fd).isFile()) return false;
    const head = Buffer.alloc(512);
    const n = readSync(src.fd, head, 0, 512, 0);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true;
    if (n >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return true;
    return n >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    src.close();
  }
}
