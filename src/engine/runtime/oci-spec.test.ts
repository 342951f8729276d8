import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultContainerConfig } from '../container/config.js';
import { capabilitiesFromMask, capabilitySet, defaultCapabilities } from './capabilities.js';
import { cgroupsPathFor, checkNamespaceMode, checkSysctls, initMountPoint, ociSpec } from './oci-spec.js';
import { resolveGroups, resolveUser } from './user.js';

const root = { uid: 0, gid: 0, additionalGids: [], home: '/root' };
const spec = (o: Parameters<typeof defaultContainerConfig>[0] = {}, extra: object = {}) =>
  ociSpec({
    config: defaultContainerConfig({ cmd: ['sh'], hostname: 'h1', ...o }),
    rootfs: '/r',
    user: root,
    binds: [],
    cgroupsPath: '/berth/berth-x',
    ...extra,
  });

describe('ociSpec', () => {
  it('joins entrypoint and command, and fails without either', () => {
    assert.deepEqual(spec({ entrypoint: ['/bin/echo'], cmd: ['a'] }).process.args, ['/bin/echo', 'a']);
    assert.throws(() => spec({ cmd: [] }), /No command specified/);
  });

  it('sets Docker default env, letting the settings win', () => {
    const env = spec({ env: ['PATH=/x', 'A=b=c'], tty: true }).process.env;
    assert.ok(env.includes('PATH=/x'));
    assert.ok(env.includes('A=b=c'));
    assert.ok(env.includes('HOSTNAME=h1'));
    assert.ok(env.includes('HOME=/root'));
    assert.ok(env.includes('TERM=xterm'));
  });

  it('--sysctl adds to (and overrides) the defaults; only namespaced ones, as runc checks', () => {
    const s = spec({ sysctls: { 'net.ipv4.ip_unprivileged_port_start': '1024', 'kernel.shmmax': '1' } });
    assert.equal(s.linux.sysctl?.['net.ipv4.ip_unprivileged_port_start'], '1024');
    assert.equal(s.linux.sysctl?.['kernel.shmmax'], '1');
    assert.throws(
      () => checkSysctls({ 'vm.swappiness': '1' }, 'bridge'),
      /sysctl "vm.swappiness" is not in a separate kernel namespace/,
    );
    assert.throws(
      () => checkSysctls({ 'net.core.somaxconn': '1' }, 'host'),
      /not allowed in host network namespace/,
    );
    checkSysctls({ 'fs.mqueue.msg_max': '1', 'kernel.msgmax': '1', 'net.core.somaxconn': '1' }, 'bridge');
  });

  it('--shm-size sizes /dev/shm (Docker: 64 MB by default)', () => {
    const shm = (s: ReturnType<typeof spec>) => s.mounts.find((m) => m.destination === '/dev/shm')?.options;
    assert.ok(shm(spec())?.includes('size=67108864'));
    assert.ok(shm(spec({ shmSize: 1 << 20 }))?.includes('size=1048576'));
  });

  it("sets Docker's sysctls in a container's own network namespace, none with the host's", () => {
    // Docker: net.ipv4.ip_unprivileged_port_start=0 and net.ipv4.ping_group_range="0 2147483647".
    assert.deepEqual(spec().linux.sysctl, {
      'net.ipv4.ip_unprivileged_port_start': '0',
      'net.ipv4.ping_group_range': '0 2147483647',
    });
    assert.equal(spec({ network: 'host' }).linux.sysctl, undefined);
  });

  it('uses pid, mount, uts, ipc and network namespaces; host network shares the netns', () => {
    const types = (s: ReturnType<typeof spec>) => s.linux.namespaces.map((n) => n.type).sort();
    assert.deepEqual(types(spec()), ['ipc', 'mount', 'network', 'pid', 'uts']);
    assert.deepEqual(types(spec({ network: 'host' })), ['ipc', 'mount', 'pid', 'uts']);
  });

  it('applies default caps, masks, read-only paths and seccomp; privileged lifts them', () => {
    const s = spec();
    assert.deepEqual([...s.process.capabilities.bounding].sort(), [...defaultCapabilities].sort());
    assert.ok(s.linux.maskedPaths?.includes('/proc/kcore'));
    assert.ok(s.linux.readonlyPaths?.includes('/proc/sys'));
    assert.equal(s.linux.seccomp?.defaultAction, 'SCMP_ACT_ERRNO');
    const allowed = (s.linux.seccomp?.syscalls ?? []).filter((r) => !r.args).flatMap((r) => r.names);
    for (const n of ['mount', 'kexec_load', 'bpf', 'unshare', 'keyctl', 'reboot', 'io_uring_setup'])
      assert.ok(!allowed.includes(n), n);
    assert.ok(allowed.includes('read') && allowed.includes('execve'));
    assert.equal(s.mounts.find((m) => m.destination === '/sys')?.options?.includes('ro'), true);
    const p = spec({ privileged: true });
    assert.equal(p.linux.seccomp, undefined);
    assert.equal(p.linux.maskedPaths, undefined);
    assert.ok(p.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
    assert.equal(p.linux.resources.devices[0]?.allow, true);
  });

  it('allows mount and unshare in seccomp once CAP_SYS_ADMIN is added', () => {
    const allowed = (spec({ capAdd: ['sys_admin'] }).linux.seccomp?.syscalls ?? []).flatMap((r) => r.names);
    assert.ok(allowed.includes('mount'));
    assert.ok(allowed.includes('unshare'));
    assert.ok(!allowed.includes('kexec_load'));
  });

  it('drops seccomp for seccomp=unconfined and uses a given profile', () => {
    assert.equal(spec({ seccomp: 'unconfined' }).linux.seccomp, undefined);
    const custom = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] });
    assert.equal(spec({ seccomp: custom }).linux.seccomp?.defaultAction, 'SCMP_ACT_ALLOW');
  });

  it('maps limits to cgroup resources', () => {
    const r = spec({ memory: 64 * 1024 * 1024, nanoCpus: 1.5e9, pidsLimit: 50 }).linux.resources;
    assert.deepEqual(r.memory, { limit: 64 * 1024 * 1024 });
    assert.deepEqual(r.cpu, { quota: 150_000, period: 100_000 });
    assert.deepEqual(r.pids, { limit: 50 });
  });

  it('adds tmpfs, binds, read-only root, no-new-privileges and init', () => {
    const s = spec(
      {
        tmpfs: [
          { destination: '/t', options: ['size=1m'] },
          { destination: '/x', options: ['exec'] },
        ],
        readOnly: true,
        noNewPrivileges: true,
        init: true,
      },
      { binds: [{ source: '/h', destination: '/c', readOnly: true }], initPath: '/usr/bin/catatonit' },
    );
    assert.equal(s.root.readonly, true);
    assert.equal(s.process.noNewPrivileges, true);
    // noexec by default, as Docker's; `exec` asks for the other.
    assert.deepEqual(s.mounts.find((m) => m.destination === '/t')?.options, [
      'nosuid',
      'nodev',
      'noexec',
      'size=1m',
    ]);
    assert.deepEqual(s.mounts.find((m) => m.destination === '/x')?.options, ['nosuid', 'nodev', 'exec']);
    assert.deepEqual(s.mounts.find((m) => m.destination === '/c')?.options, ['rbind', 'ro', 'rprivate']);
    assert.deepEqual(s.process.args.slice(0, 2), [initMountPoint, '--']);
  });

  it('a slave or shared bind gets a root that propagates as far (as Docker sets it)', () => {
    const bind = (propagation?: string) => ({
      source: '/h',
      destination: '/c',
      readOnly: false,
      ...(propagation ? { propagation } : {}),
    });
    assert.equal(spec({}, { binds: [bind()] }).linux.rootfsPropagation, undefined);
    const slave = spec({}, { binds: [bind(), bind('rslave')] });
    assert.equal(slave.linux.rootfsPropagation, 'rslave');
    assert.deepEqual(slave.mounts.filter((m) => m.destination === '/c')[1]?.options, [
      'rbind',
      'rw',
      'rslave',
    ]);
    assert.equal(spec({}, { binds: [bind('rslave'), bind('rshared')] }).linux.rootfsPropagation, 'shared');
  });

  it('maps cpu shares and a direct CFS quota', () => {
    const r = spec({ cpuShares: 512, cpuQuota: 25_000, cpuPeriod: 50_000 }).linux.resources;
    assert.deepEqual(r.cpu, { quota: 25_000, period: 50_000, shares: 512 });
    assert.deepEqual(spec({ cpuShares: 2 }).linux.resources.cpu, { shares: 2 });
  });

  it('joins pinned ipc, uts and pid namespaces, leaves them out for host, and sets no hostname in the host UTS', () => {
    const s = spec({ ipc: 'ns:/run/x/ipc', uts: 'host', pid: 'ns:/proc/7/ns/pid' });
    assert.deepEqual(
      s.linux.namespaces.find((n) => n.type === 'ipc'),
      { type: 'ipc', path: '/run/x/ipc' },
    );
    assert.deepEqual(
      s.linux.namespaces.find((n) => n.type === 'pid'),
      { type: 'pid', path: '/proc/7/ns/pid' },
    );
    assert.equal(
      s.linux.namespaces.find((n) => n.type === 'uts'),
      undefined,
    );
    assert.equal(s.hostname, '');
    assert.throws(
      () => checkNamespaceMode('ipc', 'container:x'),
      /Invalid --ipc value "container:x": use private, host or ns:PATH/,
    );
    checkNamespaceMode('ipc', 'shareable');
    assert.throws(
      () => checkNamespaceMode('pid', 'ns:/nonexistent/ns'),
      /no namespace at "\/nonexistent\/ns"/,
    );
  });

  it('sets no rlimits', () => {
    assert.equal('rlimits' in spec().process, false);
  });

  it('places cgroups under the parent from the environment', () => {
    assert.equal(cgroupsPathFor('abc', 'berth-test-1'), '/berth-test-1/berth-abc');
    assert.equal(cgroupsPathFor('abc', '/kubepods/burstable/pod1/'), '/kubepods/burstable/pod1/berth-abc');
  });
});

describe('capabilitySet', () => {
  it('follows Docker rules for add and drop', () => {
    assert.ok(!capabilitySet([], ['NET_RAW'], false).includes('CAP_NET_RAW'));
    assert.deepEqual(capabilitySet(['chown'], ['ALL'], false), ['CAP_CHOWN']);
    assert.ok(capabilitySet(['ALL'], ['CAP_SYS_ADMIN'], false).includes('CAP_NET_ADMIN'));
    assert.ok(!capabilitySet(['ALL'], ['CAP_SYS_ADMIN'], false).includes('CAP_SYS_ADMIN'));
    assert.throws(() => capabilitySet(['FLY'], [], false), /Unknown capability "FLY"/);
  });
});

describe('resolveUser', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n';
  const group = 'root:x:0:\nbob:x:1000:\nwheel:x:10:bob,alice\n';
  it('resolves names, numbers and groups', () => {
    assert.deepEqual(resolveUser('', passwd, group), { uid: 0, gid: 0, additionalGids: [0], home: '/root' });
    assert.deepEqual(resolveUser('bob', passwd, group), {
      uid: 1000,
      gid: 1000,
      additionalGids: [1000, 10],
      home: '/home/bob',
    });
    assert.deepEqual(resolveUser('1234:wheel', passwd, group), {
      uid: 1234,
      gid: 10,
      additionalGids: [10],
      home: '/',
    });
    assert.throws(
      () => resolveUser('nobody2', passwd, group),
      /unable to find user nobody2: no matching entries in passwd file/,
    );
  });

  it('resolves --group-add names and numbers', () => {
    assert.deepEqual(resolveGroups(['wheel', '3000'], group), [10, 3000]);
    assert.throws(
      () => resolveGroups(['staff'], group),
      /unable to find group staff: no matching entries in group file/,
    );
  });
});

describe('host capabilities', () => {
  it('leaves out what the host cannot grant', () => {
    const s = ociSpec({
      config: defaultContainerConfig({ cmd: ['sh'], privileged: true }),
      rootfs: '/r',
      user: { uid: 0, gid: 0, additionalGids: [], home: '/' },
      binds: [],
      cgroupsPath: '/b/c',
      hostCapabilities: capabilitiesFromMask('a80425fb'),
    });
    assert.ok(!s.process.capabilities.bounding.includes('CAP_SYS_RESOURCE'));
    assert.ok(s.process.capabilities.bounding.includes('CAP_CHOWN'));
  });
});
