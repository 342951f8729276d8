/**
 * The OCI runtime a pod's containers run on: crun where it is installed, as CRI-O does, else
 * runc (the engine's default).
 *
 * Why crun: a container start with crun costs about half of runc's CPU on this kind of node (a
 * C program, where runc is a Go program started twice, as `runc create` and as the container's
 * `runc init`), and a node starts its pods' containers in bursts. On a hybrid cgroup host the
 * engine runs crun where the v2 hierarchy is out of its sight (own-mount-ns.ts), which leaves
 * it the v1 hierarchies runc uses too.
 *
 * Why runc for some: a container with a Bidirectional (rshared) mount must share its mounts
 * with the host's, and crun's calls there run in a namespace whose mounts are only slaves of
 * the host's, which would never pass the container's mounts back.
 */
import { programPath } from '../../core/program-path.js';

/** The engine's `runtime` for a container with these mounts' propagation: 'crun', or '' for the default. */
export function podOciRuntime(
  propagations: readonly (string | undefined)[],
  path = process.env.PATH,
): string {
  if (propagations.some((p) => p === 'rshared')) return '';
  return programPath('crun', path).startsWith('/') ? 'crun' : '';
}
