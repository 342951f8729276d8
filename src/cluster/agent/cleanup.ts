/**
 * `berth agent --cleanup` (and `berth server --cleanup` for the embedded agent): removes what
 * the agent added to this node once it has stopped: the pods' containers, their sandboxes
 * (network namespaces and CNI endpoints), the pod bridge network, then the pod network's
 * routes, VXLAN device, nftables table and conntrack entries. Nothing else is touched:
 * containers without the io.kubernetes labels, other networks and other rules stay.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { netnsDir, removeNetns } from '../../engine/network/netns.js';
import { cleanupPodNetwork, podNetStateDir } from '../podnet/podnet.js';
import { PodLabels } from './runtime.js';

export async function cleanupNode(o: { root: string; runroot: string }): Promise<string[]> {
  const done: string[] = [];
  const [{ openEngine }, { EngineRuntime, POD_NETWORK }, { selfCommand }] = await Promise.all([
    import('../../engine/engine.js'),
    import('./engine-runtime.js'),
    import('../../core/self-command.js'),
  ]);
  const engine = openEngine({ root: o.root, runroot: o.runroot, self: selfCommand([]) });
  try {
    const containers = engine.containers.list({ all: true, filters: [`label=${PodLabels.uid}`] });
    for (const c of containers) await engine.containers.rm(c.id, { force: true });
    if (containers.length) done.push(`${containers.length} pod container(s)`);
    const rt = new EngineRuntime(engine, { podCidr: '' });
    const sandboxes = await rt.listPodSandboxes();
    for (const s of sandboxes) await rt.removePodSandbox(s.id);
    if (sandboxes.length) done.push(`${sandboxes.length} pod sandbox(es)`);
    // Namespaces pinned for sandboxes whose record never got written (an agent killed mid-way).
    const dir = netnsDir(o.runroot);
    const stray = existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('pod-')) : [];
    for (const f of stray) await removeNetns(join(dir, f));
    if (stray.length) done.push(`${stray.length} stray pod network namespace(s)`);
    if (engine.networks.list().some((n) => n.name === POD_NETWORK)) {
      await engine.networks.remove(POD_NETWORK);
      done.push(`the ${POD_NETWORK} network and its bridge`);
    }
  } finally {
    engine.close();
  }
  done.push(...(await cleanupPodNetwork(podNetStateDir(o.runroot))));
  return done;
}
