import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultCapabilities } from './capabilities.js';
import { customSeccompProfile, defaultSeccompProfile, type SeccompProfile } from './seccomp.js';

const amd64 = { arch: 'amd64', kernel: '6.1.0-13-amd64' };
const rulesFor = (p: SeccompProfile, name: string) => p.syscalls.filter((r) => r.names.includes(name));
const plainlyAllowed = (p: SeccompProfile) =>
  new Set(p.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r) => r.names));

describe('defaultSeccompProfile', () => {
  const p = defaultSeccompProfile(defaultCapabilities, amd64);

  it('is an allowlist failing other calls with EPERM, for the host ABIs', () => {
    assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(p.defaultErrnoRet, 1);
    assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    const ok = plainlyAllowed(p);
    for (const n of ['read', 'openat', 'execve', 'arch_prctl', 'chroot', 'ptrace']) assert.ok(ok.has(n), n);
    for (const n of ['io_uring_setup', 'io_uring_enter', 'unshare', 'setns', 'mount', 'keyctl', 'bpf'])
      assert.ok(!p.syscalls.some((r) => r.names.includes(n)), n);
  });

  it('lets clone run only without namespace flags, and makes clone3 fail with ENOSYS', () => {
    assert.deepEqual(rulesFor(p, 'clone'), [
      {
        names: ['clone'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      },
    ]);
    assert.deepEqual(rulesFor(p, 'clone3'), [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
    const s390 = defaultSeccompProfile(defaultCapabilities, { arch: 's390x', kernel: '6.1' });
    assert.equal(rulesFor(s390, 'clone')[0]?.args?.[0]?.index, 1);
  });

  it('refuses AF_VSOCK sockets and odd personas', () => {
    assert.deepEqual(rulesFor(p, 'socket')[0]?.args, [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }]);
    const personas = rulesFor(p, 'personality').map((r) => r.args?.[0]?.value);
    assert.deepEqual(personas, [0, 8, 0x20000, 0x20008, 0xffffffff]);
  });

  it('gives back namespace, mount and module calls only with their capabilities', () => {
    const admin = defaultSeccompProfile([...defaultCapabilities, 'CAP_SYS_ADMIN'], amd64);
    const ok = plainlyAllowed(admin);
    for (const n of ['clone', 'clone3', 'unshare', 'setns', 'mount']) assert.ok(ok.has(n), n);
    assert.equal(rulesFor(admin, 'clone3').length, 1, 'no ENOSYS rule beside the allow');
    assert.ok(!ok.has('init_module'));
    assert.ok(plainlyAllowed(defaultSeccompProfile(['CAP_SYS_MODULE'], amd64)).has('init_module'));
    assert.ok(!plainlyAllowed(defaultSeccompProfile([], amd64)).has('chroot'));
  });

  it('follows the host architecture and kernel', () => {
    const arm = defaultSeccompProfile(defaultCapabilities, { arch: 'arm64', kernel: '6.1' });
    assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    assert.ok(plainlyAllowed(arm).has('set_tls'));
    assert.ok(!plainlyAllowed(arm).has('arch_prctl'));
    const old = defaultSeccompProfile(defaultCapabilities, { arch: 'amd64', kernel: '4.4.0' });
    assert.ok(!plainlyAllowed(old).has('ptrace'));
  });
});

describe('customSeccompProfile', () => {
  it('resolves a Docker-format file with includes, excludes and an archMap', () => {
    const file = {
      defaultAction: 'SCMP_ACT_ERRNO',
      archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
      syscalls: [
        { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
        { name: 'mount', action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
        { names: ['getpid'], action: 'SCMP_ACT_ALLOW', excludes: { arches: ['amd64'] } },
      ],
    };
    const p = customSeccompProfile(JSON.stringify(file), [], amd64);
    assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
    assert.deepEqual(
      p.syscalls.map((r) => r.names),
      [['read', 'write']],
    );
  });

  it('refuses what is not a profile, naming the problem', () => {
    assert.throws(() => customSeccompProfile('{', [], amd64), /Decoding seccomp profile failed/);
    assert.throws(() => customSeccompProfile('{}', [], amd64), /no "defaultAction"/);
    assert.throws(
      () => customSeccompProfile('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{}]}', [], amd64),
      /syscalls\[0\] needs "names" and "action"/,
    );
  });
});
