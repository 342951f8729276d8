/**
 * `berth agent --cleanup` (and `berth server --cleanup` for the embedded agent): removes what
 * the agent added to this node once it has stopped: the pods' containers, their sandboxes
 * (network namespaces and CNI endpoints), the pod bridge network, then the pod network's
 * routes, VXLAN device, nftables table and conntrack entries, the Service proxy's table
 * and the conntrack entries of its translations, every mount left in the agent's data folder
 * (the Secrets tmpfs, Memory emptyDirs, subPath binds), the NetworkPolicy tables, and, when no Berth container is
 * left on any network, the filter rules Berth's networks needed. Nothing else is touched:
 * containers without the io.kubernetes labels, other networks and other rules stay.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { internal } from '../../core/errors.js';
import { run } from '../../core/exec.js';
import { removeIsolationChains } from '../../engine/network/isolation.js';
import { netnsDir, removeNetns, removePrivatePins } from '../../engine/network/netns.js';
import { pinNamespaceFile } from '../../engine/network/private-pins.js';
import { mountsBelow, unmount } from '../../engine/snapshot/mount.js';
import { cleanupPodNetwork, podNetStateDir } from '../podnet/podnet.js';
import { PodLabels } from './runtime.js';

export async function cleanupNode(o: {
  root: string;
  runroot: string;
  /** The agent's data folder (`berth agent --data-dir`, or the server's DATA_DIR/agent). */
  dataDir?: string;
}): Promise<string[]> {
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
    // The pin namespace goes with whatever pins are left in it.
    if (existsSync(pinNamespaceFile(dir))) {
      await removePrivatePins(o.runroot);
      done.push("the pod namespaces' pin namespace");
    }
    // The pods' volumes outlive their containers: without this, `rm -rf DATA_DIR` meets a busy
    // tmpfs. Only once no container is left, so none of them loses a volume it still uses.
    if (o.dataDir) done.push(...(await unmountBelow(o.dataDir)));
    if (engine.networks.list().some((n) => n.name === POD_NETWORK)) {
      await engine.networks.remove(POD_NETWORK);
      done.push(`the ${POD_NETWORK} network and its bridge`);
    }
    const inUse = engine.context.networks
      .list()
      .some((n) => engine.context.networks.attachmentsOf(n.name).length > 0);
    if (!inUse) done.push(...(await sweepFirewall()));
  } finally {
    engine.close();
  }
  done.push(...(await cleanupPodNetwork(podNetStateDir(o.runroot))));
  const { NftBackend } = await import('../proxy/nft-backend.js');
  if (await new NftBackend().cleanup()) done.push("the Service proxy's rules and conntrack entries");
  const { NetpolBackend } = await import('../netpol/nft-backend.js');
  if (await new NetpolBackend().cleanup()) done.push('the NetworkPolicy rules');
  const { removeDnsInterface } = await import('../dns/node-dns.js');
  if (await removeDnsInterface()) done.push('the cluster DNS interface');
  return done;
}

/** Unmounts every mount at or below `dir`, deepest first; a busy one is detached lazily. */
async function unmountBelow(dir: string): Promise<string[]> {
  const mounts = mountsBelow(resolve(dir));
  for (const m of mounts) await unmount(m);
  const left = mountsBelow(resolve(dir));
  if (left.length) throw internal(`Cannot unmount ${left[0]}: it is still mounted`);
  return mounts.length ? [`${mounts.length} mount(s) under ${dir}`] : [];
}

/**
 * With no Berth endpoint left on the node, the filter rules its networks needed go too: the
 * isolation chains, the CNI firewall plugin's chains when they hold nothing but their own
 * jumps (the plugin makes them again on its next ADD), and iptables-nft's filter table when
 * nothing at all is left in it (every chain empty and accepting), as before the first attach.
 */
async function sweepFirewall(): Promise<string[]> {
  const done: string[] = [];
  if (await removeIsolationChains()) done.push('the network isolation rules');
  const rules = (chain: string) =>
    run('iptables', ['-w', '-S', chain], { check: false }).then((r) =>
      r.code === 0 ? r.stdout.split('\n').filter((l) => l.startsWith('-A ')) : undefined,
    );
  const fwd = await rules('CNI-FORWARD');
  const admin = await rules('CNI-ADMIN');
  if (fwd?.every((l) => /^-A CNI-FORWARD (.* )?-j CNI-ADMIN$/.test(l)) && (admin ?? []).length === 0) {
    // The plugin's jump carries a comment; rules are deleted by number, the last first.
    const listed = await run('iptables', ['-w', '-n', '-L', 'FORWARD', '--line-numbers']);
    const jumps = listed.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[1] === 'CNI-FORWARD')
      .map((f) => f[0]!)
      .reverse();
    for (const n of jumps) await run('iptables', ['-w', '-D', 'FORWARD', n]);
    await run('iptables', ['-w', '-F', 'CNI-FORWARD']);
    await run('iptables', ['-w', '-X', 'CNI-FORWARD']);
    if (admin) await run('iptables', ['-w', '-X', 'CNI-ADMIN']);
    done.push("the CNI firewall plugin's empty chains");
  }
  const table = await run('nft', ['-j', 'list', 'table', 'ip', 'filter'], { check: false });
  if (table.code === 0) {
    const items = (JSON.parse(table.stdout) as { nftables: Record<string, { policy?: string }>[] }).nftables;
    const empty = items.every((i) => !i.rule && !i.set && (!i.chain?.policy || i.chain.policy === 'accept'));
    if (empty) {
      await run('nft', ['delete', 'table', 'ip', 'filter']);
      done.push('the empty filter table');
    }
  }
  return done;
}
