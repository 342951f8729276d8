/**
 * A container's file tree as its processes see it, put together on the host: the root
 * filesystem with volumes, bind mounts and single files (the engine's /etc/hosts,
 * /etc/hostname and /etc/resolv.conf, or a bound host file) mounted over paths in it. Each
 * part is reached through its own open directory fds (Beneath), and a path is resolved across
 * them with the container's rules (resolve.ts), so `cp` reaches a volume's files rather than
 * the image's copy under the mount point, and nothing ever leads outside the parts.
 */
import { realpathSync } from 'node:fs';
import { posix } from 'node:path';
import { invalidArgument } from '../../core/errors.js';
import { Beneath } from '../snapshot/beneath.js';
import { type CopySource, treeSource } from './copy-tree.js';
import { lstatAt, type PathLookup, resolvePath, splitPath, treeLookup } from './resolve.js';

/** A host folder or file mounted at `destination` (absolute, inside the container). */
export interface TreeMount {
  destination: string;
  /** The host path (a symlink is resolved once, as the runtime does when it mounts it). */
  source: string;
  readOnly: boolean;
}

/** Where a container path lives: a part's tree and the components below that tree's root. */
export interface Place {
  tree: Beneath;
  parts: string[];
  /** The mount holding it (undefined: the root filesystem). */
  mount: TreeMount | undefined;
  /** The path is the mounted file itself (a single-file mount), which must be written in place. */
  fileMount: boolean;
}

interface Part {
  mount: TreeMount | undefined;
  dest: string[];
  /** For a file mount: the tree is its folder and `file` its name there. */
  file?: string;
  tree?: Beneath;
  root: string;
}

export class MountedTree {
  private readonly parts: Part[];

  /** `root`: the root filesystem's host folder; `mounts` over it (later ones win for the same destination). */
  constructor(root: string, mounts: readonly TreeMount[], isFile: (source: string) => boolean) {
    const byDest = new Map<string, Part>();
    byDest.set('', { mount: undefined, dest: [], root });
    for (const m of mounts) {
      const dest = splitPath(posix.normalize(m.destination)).filter((c) => c !== '..');
      const real = realpathSync(m.source);
      const part: Part = isFile(real)
        ? { mount: m, dest, root: posix.dirname(real), file: posix.basename(real) }
        : { mount: m, dest, root: real };
      byDest.set(dest.join('/'), part);
    }
    // Deepest first, so the first match is the innermost mount.
    this.parts = [...byDest.values()].sort((a, b) => b.dest.length - a.dest.length);
  }

  private tree(p: Part): Beneath {
    p.tree ??= new Beneath(p.root);
    return p.tree;
  }

  /** The part holding the container path `parts` and where it is in that part's tree. */
  place(parts: readonly string[]): Place {
    for (const p of this.parts) {
      if (p.dest.length > parts.length || !p.dest.every((c, i) => parts[i] === c)) continue;
      const rest = parts.slice(p.dest.length);
      if (p.file !== undefined) {
        // Nothing lies below a mounted file.
        if (rest.length > 0)
          throw invalidArgument(`Cannot resolve "/${parts.join('/')}": "/${p.dest.join('/')}" is a file`);
        return { tree: this.tree(p), parts: [p.file], mount: p.mount, fileMount: true };
      }
      return { tree: this.tree(p), parts: rest, mount: p.mount, fileMount: false };
    }
    throw new Error('the root part is always there');
  }

  /** Lookups across the parts, for resolve.ts. */
  readonly lookup: PathLookup = {
    lstat: (parts) => {
      const at = this.place(parts);
      return lstatAt(at.tree, at.parts);
    },
    readlink: (parts) => {
      const at = this.place(parts);
      return treeLookup(at.tree).readlink(at.parts);
    },
  };

  /** The container path `inner` resolved (see resolvePath). */
  resolve(inner: string, followLast: boolean): string[] {
    return resolvePath(this.lookup, inner, followLast);
  }

  /** The entry at the container path `parts` as a copy source that enters the mounts below it. */
  source(parts: readonly string[]): CopySource {
    const at = this.place(parts);
    const inner = treeSource(at.tree, at.parts, at.mount ? `${at.mount.destination}:` : '');
    return {
      ...inner,
      name: parts[parts.length - 1] ?? '',
      label: `/${parts.join('/')}`,
      children: () => inner.children().map((c) => this.source([...parts, c.name])),
    };
  }

  /** Closes every part's fds. */
  close(): void {
    for (const p of this.parts) p.tree?.close();
  }
}
