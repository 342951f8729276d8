/**
 * `exec`: runs another process in a running container through the runtime's own `exec`,
 * with this process's stdio (the runtime allocates a pseudo-terminal for `-t`). The new
 * process joins the container's namespaces, cgroup, capabilities and seccomp profile.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflict } from '../../core/errors.js';
import { runtimeCreateError } from '../runtime/conmon.js';
import { detectRuntime, runtimeGlobalArgs } from '../runtime/oci-runtime.js';
import { resolveUser } from '../runtime/user.js';
import type { EngineContext } from './context.js';
import { getContainer } from './lifecycle.js';
import { containerPaths } from './paths.js';

/** Options of `exec`. */
export interface ExecOptions {
  command: string[];
  interactive: boolean;
  tty: boolean;
  detach: boolean;
  env: string[];
  user: string;
  workdir: string;
}

const readOr = (p: string) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};

/** Runs the command; resolves with its exit status (0 at once for `detach`). */
export async function execInContainer(ctx: EngineContext, ref: string, o: ExecOptions): Promise<number> {
  const rec = getContainer(ctx, ref);
  if (rec.state !== 'running') throw conflict(`Container ${rec.id.slice(0, 12)} is not running`);
  const runtime = detectRuntime(ctx.runroot, rec.config.runtime);
  const merged = containerPaths(ctx, rec.id).merged;
  const args = [...runtimeGlobalArgs(runtime), 'exec'];
  if (o.tty) args.push('--tty');
  if (o.detach) args.push('--detach');
  if (o.workdir) args.push('--cwd', o.workdir);
  if (o.user) {
    const u = resolveUser(o.user, readOr(join(merged, 'etc/passwd')), readOr(join(merged, 'etc/group')));
    args.push('--user', `${u.uid}:${u.gid}`);
    for (const g of u.additionalGids) args.push('--additional-gids', String(g));
  }
  for (const e of o.env) args.push('--env', e);
  args.push(rec.id, ...o.command);
  const child = spawn(runtime.path, args, {
    stdio: [o.interactive && !o.detach ? 'inherit' : 'ignore', o.detach ? 'ignore' : 'inherit', 'pipe'],
  });
  let tail = '';
  child.stderr?.on('data', (b: Buffer) => {
    tail = (tail + b.toString()).slice(-4096);
    if (!/exec failed|executable file not found/.test(tail)) process.stderr.write(b);
  });
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
  });
  if (
    code !== 0 &&
    /exec failed|executable file not found|no such file or directory|permission denied/.test(tail)
  ) {
    const e = runtimeCreateError(tail);
    if (e.exitCode !== 125) throw e;
  }
  return code;
}
