/**
 * bench/pull: a 200 MB image of 5 random-data layers in a local docker-registry, pulled from
 * scratch into a store where it is ready to run (downloaded, verified, unpacked): Berth vs
 * `podman pull`, and `skopeo copy` to an OCI layout (no unpack) for scale. Also push of the
 * same image: `berth push` vs `skopeo copy` to the registry. Medians of N runs, each into a
 * fresh store. Run as root: node --import tsx bench/pull.ts [runs]
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { podmanStoreArgs } from '../test/helpers/podman.js';
import { have, printRatio, summarise, timeCommand } from './lib/measure.js';

const runs = Number(process.argv[2] ?? 5);
const berth = resolve(import.meta.dirname, '..', 'bin', 'berth');
/** Berth's options for a store of its own under `dir`. */
const storeIn = (dir: string) => ['--root', `${dir}/root`, '--runroot', `${dir}/run`];
const work = mkdtempSync(join(tmpdir(), 'berth-bench-pull-'));
const sh = (cmd: string) => {
  const r = spawnSync('sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout.toString();
};

async function freePort(): Promise<number> {
  return new Promise((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => r(p));
    });
  });
}

/** Starts an empty docker-registry on a free loopback port; returns host:port and a stopper. */
async function startRegistry(name: string): Promise<{ host: string; stop: () => void }> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const cfg = join(work, `${name}.yml`);
  writeFileSync(
    cfg,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, name)}\nhttp:\n  addr: ${host}\n`,
  );
  const child = spawn('docker-registry', ['serve', cfg], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://${host}/v2/`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { host, stop: () => child.kill('SIGKILL') };
}

const main = await startRegistry('registry');
const reg = main.host;
try {
  // The image: 5 layers of 40 MB random data, gzip-compressed as registries carry them.
  const arc = join(work, 'arc');
  mkdirSync(arc);
  const diffIds: string[] = [];
  const layers: string[] = [];
  for (let i = 0; i < 5; i++) {
    const d = join(work, `l${i}`);
    mkdirSync(d);
    sh(
      `head -c 40M /dev/urandom > ${d}/data${i} && tar -cf ${work}/l${i}.tar -C ${d} . && gzip -1 -c ${work}/l${i}.tar > ${arc}/l${i}.tar.gz`,
    );
    diffIds.push(
      `sha256:${createHash('sha256')
        .update(readFileSync(`${work}/l${i}.tar`))
        .digest('hex')}`,
    );
    layers.push(`l${i}.tar.gz`);
  }
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: diffIds },
  });
  writeFileSync(join(arc, 'config.json'), config);
  writeFileSync(
    join(arc, 'manifest.json'),
    JSON.stringify([{ Config: 'config.json', RepoTags: [`${reg}/bench/big:1`], Layers: layers }]),
  );
  sh(`tar -cf ${work}/big.tar -C ${arc} .`);
  const src = join(work, 'src');
  sh(`${berth} ${storeIn(src).join(' ')} load -i ${work}/big.tar`);

  // Push: berth vs skopeo, each to a fresh repository.
  const pushB: number[] = [];
  const pushS: number[] = [];
  sh(
    `${berth} ${storeIn(src).join(' ')} save --format oci-archive -o ${work}/big-oci.tar ${reg}/bench/big:1`,
  );
  // Each push goes to a fresh, empty registry, so neither tool can skip or mount a blob.
  for (let i = 0; i < runs; i++) {
    const ps = join(work, `push${i}`);
    sh(`${berth} ${storeIn(ps).join(' ')} load -q -i ${work}/big.tar`);
    const rb = await startRegistry(`rb${i}`);
    pushB.push(
      timeCommand(berth, [...storeIn(ps), 'push', '-q', `${reg}/bench/big:1`, `${rb.host}/bench/big:1`]),
    );
    rb.stop();
    rmSync(ps, { recursive: true, force: true });
    if (have('skopeo')) {
      const rs = await startRegistry(`rs${i}`);
      pushS.push(
        timeCommand('skopeo', [
          'copy',
          '-q',
          '--dest-tls-verify=false',
          `oci-archive:${work}/big-oci.tar`,
          `docker://${rs.host}/bench/big:1`,
        ]),
      );
      rs.stop();
    }
  }
  sh(`${berth} ${storeIn(src).join(' ')} push -q ${reg}/bench/big:1`);
  const pullB: number[] = [];
  const pullP: number[] = [];
  const copyS: number[] = [];
  for (let i = 0; i < runs; i++) {
    const d = join(work, `b${i}`);
    pullB.push(timeCommand(berth, [...storeIn(d), 'pull', '-q', `${reg}/bench/big:1`]));
    rmSync(d, { recursive: true, force: true });
    if (have('podman')) {
      const p = join(work, `p${i}`);
      pullP.push(
        timeCommand('podman', [
          ...podmanStoreArgs(`${p}/root`, `${p}/run`),
          'pull',
          '-q',
          '--tls-verify=false',
          `${reg}/bench/big:1`,
        ]),
      );
      spawnSync('podman', [...podmanStoreArgs(`${p}/root`, `${p}/run`), 'system', 'reset', '-f'], {
        stdio: 'ignore',
      });
      spawnSync('sh', ['-c', `umount -R ${p}/root 2>/dev/null; rm -rf ${p}`]);
    }
    if (have('skopeo')) {
      copyS.push(
        timeCommand('skopeo', [
          'copy',
          '-q',
          '--src-tls-verify=false',
          `docker://${reg}/bench/big:1`,
          `oci:${work}/s${i}:1`,
        ]),
      );
      rmSync(join(work, `s${i}`), { recursive: true, force: true });
    }
  }
  const med = (v: number[]) => (v.length ? summarise(v).median : undefined);
  console.log(`bench/pull: 200 MB, 5 layers, ${runs} runs each, medians`);
  printRatio('pull (downloaded, verified, unpacked)', med(pullB)!, 'podman pull', med(pullP), '<= 0.8x');
  printRatio('pull vs skopeo copy to OCI layout (no unpack)', med(pullB)!, 'skopeo copy', med(copyS));
  printRatio('push to an empty repository', med(pushB)!, 'skopeo copy', med(pushS));
} finally {
  main.stop();
  spawnSync('sh', ['-c', `umount -R ${work}/p* 2>/dev/null; true`]);
  rmSync(work, { recursive: true, force: true });
}
