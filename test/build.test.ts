// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile variables, not template placeholders
/**
 * `berth build` end to end through bin/berth on the real runtime: multi-stage Dockerfiles
 * with every instruction, checked by running the result and reading its config; the layer
 * cache (an identical rebuild runs nothing and gives the same ID; a changed file reruns only
 * from its COPY); .dockerignore; --target; build args; RUN mounts; ADD of archives and URLs;
 * tar contexts; failing steps; and hostile contexts that try to read outside the context.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extract, pack } from 'tar-stream';
import { run } from '../src/core/exec.js';
import { busyboxRootfsTar, importBusybox } from './helpers/busybox-image.js';
import { podmanEnv, podmanStoreArgs } from './helpers/podman.js';
import { berthBin, isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

const havePodman = spawnSync('podman', ['--version'], { stdio: 'ignore' }).status === 0;

/** Each entry of a root filesystem tar stream: type, mode, owner, link target and content hash, by name. */
async function treeOf(stream: NodeJS.ReadableStream): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const ex = extract();
  ex.on('entry', (h, body, next) => {
    const hash = createHash('sha256');
    body.on('data', (b: unknown) => hash.update(b as Buffer));
    body.on('end', () => {
      const name = h.name.replace(/^\.?\//, '').replace(/\/$/, '');
      const mode = ((h.mode ?? 0) & 0o7777).toString(8);
      out.set(
        name,
        `${h.type} ${mode} ${h.uid}:${h.gid} ${h.linkname ?? ''} ${h.type === 'file' ? hash.digest('hex') : ''}`,
      );
      next();
    });
    body.resume();
  });
  stream.pipe(ex);
  await new Promise<void>((res, rej) => {
    ex.on('finish', res);
    ex.on('error', rej);
  });
  return out;
}

/** Writes a context folder from a map of relative paths to contents. */
function writeContext(dir: string, files: Record<string, string>): string {
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), body);
  }
  return dir;
}

async function tarBytes(entries: { name: string; body?: string; type?: 'directory' }[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) p.entry({ name: e.name, type: e.type ?? 'file', mode: 0o644 }, e.body ?? '');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('berth build', { skip: !isRoot && 'needs root' }, () => {
  let box: Sandbox;
  let n = 0;
  const ok = async (args: string[], input?: Buffer) => {
    const r = await box.berth(args, { check: false, ...(input ? { input } : {}) });
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const context = (files: Record<string, string>) => writeContext(join(box.dir, `ctx${n++}`), files);
  /** Builds quietly on no network (bridge has its own test below); returns the ID and the output. */
  const build = async (dir: string, extra: string[] = []) => {
    const r = await ok(['build', '--network', 'none', '--progress', 'plain', ...extra, dir]);
    const id = /writing image (sha256:[0-9a-f]{64})/.exec(r.stderr)?.[1];
    assert.ok(id, r.stderr);
    return { id, out: r.stderr };
  };
  const runIn = async (image: string, ...cmd: string[]) =>
    (await ok(['run', '--rm', '--network', 'none', image, ...cmd])).stdout;
  const inspect = async (image: string) =>
    (JSON.parse((await ok(['image', 'inspect', image])).stdout) as Record<string, unknown>[])[0]!;

  before(async () => {
    box = await sandbox(undefined);
    await importBusybox(box, 'bb:base');
  });
  after(() => box.cleanup());

  it('builds a multi-stage Dockerfile with every instruction, as the config and a run show', async () => {
    const dir = context({
      'app/main.sh': 'echo main\n',
      'app/lib/util.sh': 'echo util\n',
      'notes.txt': 'notes\n',
      Dockerfile: [
        '# syntax=docker/dockerfile:1',
        'ARG BASE=bb:base',
        'FROM ${BASE} AS builder',
        'ARG VERSION=0.0',
        'ENV BUILD_DIR=/src',
        'WORKDIR $BUILD_DIR',
        'COPY app/ ./',
        'RUN echo "version $VERSION" > version.txt \\',
        '  && rm lib/util.sh',
        'RUN <<EOF',
        'echo from heredoc > heredoc.txt',
        'EOF',
        'COPY <<greeting.txt /src/',
        'hello ${BUILD_DIR}',
        'greeting.txt',
        '',
        'FROM bb:base AS unused',
        'RUN exit 9',
        '',
        'FROM ${BASE}',
        'MAINTAINER someone',
        'LABEL org.example.name="the app" tier=web',
        'ENV PATH_EXTRA=/opt/bin',
        'ENV MODE prod',
        'COPY --from=builder --chown=1000:1000 --chmod=750 /src /opt/app',
        'COPY --from=0 /src/version.txt /opt/version',
        'USER 1000:1000',
        'WORKDIR /opt/app',
        'EXPOSE 8080 53/udp',
        'VOLUME ["/data"]',
        'SHELL ["/bin/sh", "-ec"]',
        'STOPSIGNAL SIGINT',
        'HEALTHCHECK --interval=30s --retries=2 CMD ["true"]',
        'ONBUILD RUN echo triggered',
        'ENTRYPOINT ["/bin/sh", "-c"]',
        'CMD ["cat /opt/version"]',
      ].join('\n'),
    });
    const iid = join(box.dir, 'iid');
    const { id, out } = await build(dir, [
      '-t',
      'app:1',
      '-t',
      'app:latest',
      '--build-arg',
      'VERSION=1.2',
      '--label',
      'extra=yes',
      '--iidfile',
      iid,
    ]);
    assert.equal(readFileSync(iid, 'utf8'), id);
    assert.doesNotMatch(out, /exit 9/, 'the stage nobody needs is not built');
    assert.equal(await runIn('app:1'), 'version 1.2\n');
    const listing = await runIn(
      'app:1',
      'ls -n /opt/app | sed 1d; cat /opt/app/heredoc.txt /opt/app/greeting.txt; id -u; pwd; ls /opt/app/lib | wc -l',
    );
    assert.match(listing, /-rwxr-x---\s+1 1000\s+1000 .* main\.sh/);
    assert.match(
      listing,
      /from heredoc\nhello \/src\n1000\n\/opt\/app\n0\n$/,
      'the deletion in the builder stage holds',
    );
    const img = await inspect('app:latest');
    assert.equal(img.Id, id);
    const c = img.Config as Record<string, unknown>;
    assert.deepEqual(c.Labels, { 'org.example.name': 'the app', tier: 'web', extra: 'yes' });
    assert.ok((c.Env as string[]).includes('PATH_EXTRA=/opt/bin'));
    assert.ok((c.Env as string[]).includes('MODE=prod'));
    assert.equal(c.User, '1000:1000');
    assert.equal(c.WorkingDir, '/opt/app');
    assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c']);
    assert.deepEqual(c.Cmd, ['cat /opt/version']);
    assert.equal(img.Author, 'someone');
    const history = (await ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'app:1'])).stdout;
    assert.match(history, /COPY \/src\/version.txt \/opt\/version # buildkit/);
    assert.match(history, /LABEL org.example.name=the app tier=web/);
    // The config fields `image inspect` does not show, straight from the stored config.
    const raw = await configOf('app:1');
    assert.deepEqual(raw.ExposedPorts, { '8080/tcp': {}, '53/udp': {} });
    assert.deepEqual(raw.Volumes, { '/data': {} });
    assert.deepEqual(raw.Shell, ['/bin/sh', '-ec']);
    assert.equal(raw.StopSignal, 'SIGINT');
    assert.deepEqual(raw.Healthcheck, { Test: ['CMD', 'true'], Interval: 30e9, Retries: 2 });
    assert.deepEqual(raw.OnBuild, ['RUN echo triggered']);

    // The ONBUILD trigger runs in a build FROM this image, and is not passed on.
    const child = context({ Dockerfile: 'FROM app:1\nUSER 0\n' });
    const built = await build(child, ['-t', 'child:1']);
    assert.match(built.out, /#\d+ [\d.]+ triggered/);
    assert.equal((await configOf('child:1')).OnBuild, null);
  });

  /** The image's stored config (`config` of the OCI config), read with `save`. */
  async function configOf(image: string): Promise<Record<string, unknown>> {
    const tar = join(box.dir, `save-${n++}.tar`);
    await ok(['save', '-o', tar, image]);
    const out = join(box.dir, `save-${n++}`);
    mkdirSync(out);
    await run('tar', ['-xf', tar, '-C', out]);
    const index = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { Config: string }[];
    const cfg = JSON.parse(readFileSync(join(out, index[0]!.Config), 'utf8')) as {
      config: Record<string, unknown>;
    };
    return cfg.config;
  }

  it('an identical rebuild runs nothing and gives the same ID; a changed file reruns only from its COPY', async () => {
    const dir = context({
      'a.txt': 'one\n',
      'b.txt': 'bee\n',
      Dockerfile: [
        'FROM bb:base',
        'RUN echo first-run > /first',
        'COPY a.txt /a.txt',
        'RUN echo after-copy && cat /a.txt > /copy-of-a',
        'COPY b.txt /b.txt',
      ].join('\n'),
    });
    const first = await build(dir);
    assert.match(first.out, /first-run|DONE/);
    const again = await build(dir);
    assert.equal(again.id, first.id);
    assert.doesNotMatch(again.out, /#\d+ [\d.]+ (first-run|after-copy)/, 'no RUN step ran');
    assert.equal((again.out.match(/CACHED/g) ?? []).length, 4);
    // mtime alone is no change: the cache keys on content.
    writeFileSync(join(dir, 'b.txt'), 'bee\n');
    assert.equal((await build(dir)).id, first.id);
    writeFileSync(join(dir, 'a.txt'), 'two\n');
    const changed = await build(dir, ['-t', 'cache:changed']);
    assert.notEqual(changed.id, first.id);
    assert.match(changed.out, /RUN echo first-run > \/first\n#\d+ CACHED/);
    assert.match(changed.out, /#\d+ [\d.]+ after-copy/, 'the RUN after the changed COPY ran again');
    assert.equal(await runIn('cache:changed', 'cat', '/copy-of-a'), 'two\n');
    const fresh = await build(dir, ['--no-cache']);
    assert.doesNotMatch(fresh.out, /CACHED/);
    const pruned = await ok(['builder', 'prune', '-f']);
    assert.match(pruned.stdout, /Deleted \d+ build cache record/);
    assert.doesNotMatch((await build(dir)).out, /CACHED/);
  });

  it('.dockerignore leaves files out, with ** and ! exceptions', async () => {
    const dir = context({
      '.dockerignore': 'secret*\n**/*.log\nlogs\n!logs/keep.log\n',
      'secret.key': 'k',
      'src/app.log': 'log',
      'src/main.c': 'int main;',
      'logs/drop.log': 'x',
      'logs/keep.log': 'kept',
      Dockerfile: 'FROM bb:base\nCOPY . /ctx\n',
    });
    await build(dir, ['-t', 'ignore:1']);
    const files = await runIn('ignore:1', 'sh', '-c', 'cd /ctx && find . -type f | sort');
    assert.equal(files, './.dockerignore\n./Dockerfile\n./logs/keep.log\n./src/main.c\n');
    const missing = await box.berth(['build', '--network', 'none', '-f', join(dir, 'Dockerfile2'), dir], {
      check: false,
    });
    assert.notEqual(missing.code, 0);
    writeFileSync(join(dir, 'Dockerfile2'), 'FROM bb:base\nCOPY secret.key /\n');
    const excluded = await box.berth(['build', '--network', 'none', '-f', join(dir, 'Dockerfile2'), dir], {
      check: false,
    });
    assert.notEqual(excluded.code, 0);
    assert.match(
      excluded.stderr,
      /Dockerfile2:2: COPY failed: file not found in build context or excluded by .dockerignore/,
    );
  });

  it('a long COPY reports its progress', async () => {
    const files: Record<string, string> = { Dockerfile: 'FROM bb:base\nCOPY many /many\n' };
    for (let i = 0; i < 600; i++) files[`many/f${i}`] = `${i}\n`;
    const { out } = await build(context(files), ['-t', 'many:1']);
    assert.match(out, /#\d+ copied 500 files, 0\.0 MB\n/);
    assert.match(out, /#\d+ copied 600 files, 0\.0 MB\n/);
    assert.equal(await runIn('many:1', 'sh', '-c', 'ls /many | wc -l'), '600\n');
  });

  it('--target builds only that stage and what it needs; build args reach ARG and RUN', async () => {
    const dir = context({
      Dockerfile: [
        'ARG GREETING=hello',
        'FROM bb:base AS base',
        'ARG GREETING',
        'ARG WHO=world',
        'RUN echo "$GREETING $WHO" > /greeting',
        'FROM base AS test',
        'RUN cat /greeting',
        'FROM bb:base AS broken',
        'RUN exit 3',
      ].join('\n'),
    });
    const { out } = await build(dir, [
      '--target',
      'test',
      '-t',
      'target:1',
      '--build-arg',
      'WHO=berth',
      '--build-arg',
      'NOBODY=x',
    ]);
    assert.match(out, /#\d+ [\d.]+ hello berth/);
    assert.match(out, /\[Warning\] One or more build-args \[NOBODY\] were not consumed/);
    assert.doesNotMatch(out, /exit 3/);
    assert.equal(await runIn('target:1', 'cat', '/greeting'), 'hello berth\n');
    const history = (await ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'target:1'])).stdout;
    assert.match(
      history,
      /RUN \|2 GREETING=hello WHO=berth \/bin\/sh -c echo "\$GREETING \$WHO" > \/greeting # buildkit/,
    );
  });

  it('a failing RUN stops the build with its exit code, its output and the line', async () => {
    const dir = context({
      Dockerfile:
        'FROM bb:base\nRUN echo before-failing\nRUN echo failing-output && exit 7\nRUN echo never\n',
    });
    const r = await box.berth(['build', '--network', 'none', dir], { check: false });
    assert.equal(r.code, 7);
    assert.match(r.stderr, /failing-output/);
    assert.match(
      r.stderr,
      /Dockerfile:3: process "\/bin\/sh -c echo failing-output && exit 7" did not complete successfully: exit code: 7/,
    );
    assert.doesNotMatch(r.stderr, /never/);
    const ps = await ok(['ps', '-a', '-q']);
    assert.equal(ps.stdout, '', 'no step container is left behind');
    const quiet = await box.berth(['build', '-q', '--network', 'none', dir], { check: false });
    assert.equal(quiet.code, 7);
    assert.match(quiet.stderr, /failing-output/, '-q still shows the output of a failed build');
  });

  it('an interrupted build stops and removes the step container it was running', async () => {
    const dir = context({ Dockerfile: 'FROM bb:base\nRUN echo step-started && sleep 600\n' });
    const child = box.spawn(
      berthBin,
      ['--root', box.root, '--runroot', box.runroot, 'build', '--network', 'none', dir],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    // The step's first output line says its container runs: interrupt it then.
    await new Promise<void>((res, rej) => {
      child.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
        if (/#\d+ [\d.]+ step-started/.test(err)) res();
      });
      child.on('exit', () => rej(new Error(`build ended before its step ran: ${err}`)));
    });
    child.kill('SIGINT');
    const code = await exited;
    assert.notEqual(code, 0);
    assert.match(err, /The build was cancelled/);
    assert.equal((await ok(['ps', '-a', '-q'])).stdout, '', 'no step container is left behind');
  });

  it('an unknown instruction or flag is an error naming the line', async () => {
    const dir = context({ Dockerfile: 'FROM bb:base\n\nFORM x\n' });
    const r = await box.berth(['build', dir], { check: false });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Dockerfile:3: unknown instruction: FORM/);
    const flagged = context({ Dockerfile: 'FROM bb:base\nCOPY --own=1 a b\n' });
    const f = await box.berth(['build', flagged], { check: false });
    assert.match(f.stderr, /Dockerfile:2: unknown flag: own/);
    assert.doesNotMatch(r.stderr + f.stderr, /\n\s+at /, 'no stack trace');
  });

  it('hostile contexts: ../, symlinks pointing out, absolute links, a tar with .. entries', async () => {
    const outside = join(box.dir, 'outside-secret');
    writeFileSync(outside, 'host secret\n');
    const up = context({ Dockerfile: 'FROM bb:base\nCOPY ../outside-secret /x\n' });
    const r1 = await box.berth(['build', '--network', 'none', up], { check: false });
    assert.notEqual(r1.code, 0);
    assert.match(
      r1.stderr,
      /Dockerfile:2: COPY failed: forbidden path outside the build context: \.\.\/outside-secret/,
    );

    const links = context({ Dockerfile: 'FROM bb:base\nCOPY dir /dir\nCOPY abs /abs\n', 'dir/real': 'ok' });
    symlinkSync(outside, join(links, 'dir', 'out-link'));
    symlinkSync('../../outside-secret', join(links, 'dir', 'rel-link'));
    symlinkSync(outside, join(links, 'abs'));
    const r2 = await box.berth(['build', '--network', 'none', links], { check: false });
    // Named directly, an absolute link is resolved inside the context, where it names nothing.
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /Dockerfile:3: COPY failed/);
    writeFileSync(join(links, 'Dockerfile'), 'FROM bb:base\nCOPY dir /dir\n');
    await build(links, ['-t', 'links:1']);
    // Inside a folder, links are copied as links: nothing of the host file is in the image.
    const seen = await runIn(
      'links:1',
      'sh',
      '-c',
      'readlink /dir/out-link; cat /dir/out-link /dir/rel-link 2>&1; cat /dir/real',
    );
    assert.doesNotMatch(seen, /host secret/);
    assert.match(seen, /ok$/);

    const evil = await tarBytes([
      { name: 'Dockerfile', body: 'FROM bb:base\nCOPY . /\n' },
      { name: '../../escaped', body: 'x' },
    ]);
    const r3 = await box.berth(['build', '--network', 'none', '-'], { check: false, input: evil });
    assert.notEqual(r3.code, 0);
    assert.match(r3.stderr, /unable to read the build context archive/);
    assert.doesNotMatch(r3.stderr, /\n\s+at /);
  });

  it('a tar context on stdin or in a file, ADD of an archive and of a URL', async () => {
    const inner = await tarBytes([
      { name: 'pkg/', type: 'directory' },
      { name: 'pkg/file', body: 'from tar' },
    ]);
    const server = createServer((_req, res) => {
      res.setHeader('Last-Modified', 'Wed, 21 Oct 2015 07:28:00 GMT');
      res.end('downloaded\n');
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    try {
      const port = (server.address() as AddressInfo).port;
      const dockerfile = [
        'FROM bb:base',
        'ADD inner.tar /unpacked/',
        `ADD http://127.0.0.1:${port}/files/remote.txt /remote/`,
        'COPY plain.txt /',
      ].join('\n');
      // tar-stream bodies are strings here; keep the inner tar byte-exact.
      const ctxFixed = await (async () => {
        const p = pack();
        p.entry({ name: 'Dockerfile', mode: 0o644 }, dockerfile);
        p.entry({ name: 'plain.txt', mode: 0o644 }, 'plain\n');
        p.entry({ name: 'inner.tar', mode: 0o644 }, inner);
        p.finalize();
        const chunks: Buffer[] = [];
        for await (const c of p) chunks.push(c as Buffer);
        return Buffer.concat(chunks);
      })();
      const r = await ok(['build', '-q', '--network', 'none', '-t', 'tarctx:1', '-'], ctxFixed);
      assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
      assert.equal(
        await runIn(
          'tarctx:1',
          'sh',
          '-c',
          'cat /unpacked/pkg/file; echo; cat /remote/remote.txt /plain.txt',
        ),
        'from tar\ndownloaded\nplain\n',
      );
      const file = join(box.dir, 'ctx.tar');
      writeFileSync(file, ctxFixed);
      const again = await ok(['image', 'build', '-q', '--network', 'none', file]);
      assert.match(again.stdout, /^sha256:/);
    } finally {
      server.close();
    }
  });

  it('RUN --mount: a cache that outlives the build, a secret and a tmpfs that stay out of the layer', async () => {
    const secret = join(box.dir, 'token');
    writeFileSync(secret, 's3cret');
    const dir = context({
      'data.txt': 'bound\n',
      Dockerfile: [
        'FROM bb:base',
        'ARG N',
        'RUN --mount=type=cache,target=/cache echo run-$N >> /cache/log && cat /cache/log',
        'RUN --mount=type=secret,id=token cat /run/secrets/token > /tmp/seen-len && wc -c < /run/secrets/token',
        'RUN --mount=type=tmpfs,target=/scratch echo t > /scratch/t && ls /scratch',
        'RUN --mount=type=bind,source=data.txt,target=/in.txt cat /in.txt',
      ].join('\n'),
    });
    const first = await build(dir, [
      '-t',
      'mounts:1',
      '--build-arg',
      'N=1',
      '--secret',
      `id=token,src=${secret}`,
    ]);
    assert.match(first.out, /#\d+ [\d.]+ run-1\n/);
    assert.match(first.out, /#\d+ [\d.]+ bound/);
    const second = await build(dir, ['--build-arg', 'N=2', '--secret', `id=token,src=${secret}`]);
    assert.match(second.out, /#\d+ [\d.]+ run-1\n#\d+ [\d.]+ run-2\n/, 'the cache mount kept the first run');
    const inImage = await runIn(
      'mounts:1',
      'sh',
      '-c',
      'for f in /run/secrets/token /scratch/t /cache/log /in.txt; do [ -s $f ] && echo $f; done; cat /tmp/seen-len',
    );
    assert.equal(inImage, 's3cret', 'nothing of the mounts is in the image; what RUN wrote is');
    await ok(['builder', 'prune', '-f']);
    const third = await build(dir, ['--build-arg', 'N=3', '--secret', `id=token,src=${secret}`]);
    assert.match(third.out, /#\d+ [\d.]+ run-3\n/);
    assert.doesNotMatch(third.out, /run-1/, 'builder prune emptied the cache mount');
  });

  it('RUN uses the default bridge network (in the test network namespace)', async () => {
    const netBox = await sandbox(undefined, { netns: true });
    try {
      await importBusybox(netBox, 'bb:base');
      const dir = writeContext(join(netBox.dir, 'ctx'), {
        Dockerfile: 'FROM bb:base\nRUN ip -o -4 addr show eth0 | grep -c inet > /addrs\n',
      });
      const r = await netBox.berth(['build', '-q', '-t', 'net:1', dir], { check: false });
      assert.equal(r.code, 0, r.stderr);
      const out = await netBox.berth(['run', '--rm', '--network', 'none', 'net:1', 'cat', '/addrs']);
      assert.equal(out.stdout, '1\n');
      const none = await netBox.berth(['build', '--network', 'none', dir], { check: false });
      assert.notEqual(none.code, 0, 'without a network the step has no eth0');
    } finally {
      await netBox.cleanup();
    }
  });
  it('podman build of the same Dockerfile gives the same files and config fields', {
    skip: !havePodman && 'podman is not installed',
  }, async () => {
    const dir = context({
      'd/a': 'hi\n',
      'd/sub/b': 'bee\n',
      Dockerfile: [
        'FROM IMAGE',
        'ENV A=1 B="two words"',
        'WORKDIR /app',
        'COPY d /app/d',
        'COPY --chmod=600 d/a /app/private',
        'RUN echo x > /app/x && rm /etc/group && mkdir -p /var/made && ln -s /app/x /app/link',
        'USER 1000:1000',
        'EXPOSE 80 53/udp',
        'VOLUME /data',
        'LABEL k=v',
        'STOPSIGNAL SIGINT',
        'ENTRYPOINT ["/bin/sh", "-c"]',
        'CMD ["echo hi"]',
      ].join('\n'),
    });
    const df = readFileSync(join(dir, 'Dockerfile'), 'utf8');
    writeFileSync(join(dir, 'Dockerfile.berth'), df.replace('IMAGE', 'bb:base'));
    writeFileSync(join(dir, 'Dockerfile.podman'), df.replace('IMAGE', 'localhost/bb:base'));
    await build(dir, ['-f', join(dir, 'Dockerfile.berth'), '-t', 'same:1']);
    const podmanArgs = podmanStoreArgs(join(box.dir, 'p-root'), join(box.dir, 'p-run'));
    const env = podmanEnv(box.dir);
    const podman = async (args: string[]) => {
      const r = await run('podman', [...podmanArgs, ...args], {
        env,
        check: false,
      });
      assert.equal(r.code, 0, `podman ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    box.defer(() =>
      run('podman', [...podmanArgs, 'system', 'reset', '-f'], {
        env,
        check: false,
      }),
    );
    await podman(['import', await busyboxRootfsTar(), 'localhost/bb:base']);
    await podman([
      'build',
      '-q',
      '--network',
      'none',
      '-f',
      join(dir, 'Dockerfile.podman'),
      '-t',
      'same:1',
      dir,
    ]);

    const pc = JSON.parse(
      await podman(['image', 'inspect', '--format', '{{json .Config}}', 'same:1']),
    ) as Record<string, unknown>;
    const bc = await configOf('same:1');
    // Buildah adds a default PATH and its version label; the rest must agree.
    assert.deepEqual(
      bc.Env,
      (pc.Env as string[]).filter((e) => !e.startsWith('PATH=')),
    );
    const { 'io.buildah.version': _v, ...podmanLabels } = pc.Labels as Record<string, string>;
    assert.deepEqual(bc.Labels, podmanLabels);
    for (const field of ['User', 'WorkingDir', 'Entrypoint', 'Cmd', 'ExposedPorts', 'Volumes', 'StopSignal'])
      assert.deepEqual(bc[field], pc[field], field);

    // Both tools export a container of the image to a file (podman cannot write to a pipe here).
    const exported = async (tool: 'berth' | 'podman') => {
      const file = join(box.dir, `${tool}-export.tar`);
      if (tool === 'berth') await ok(['export', '-o', file, (await ok(['create', 'same:1'])).stdout.trim()]);
      else await podman(['export', '-o', file, (await podman(['create', 'same:1'])).trim()]);
      return treeOf(createReadStream(file));
    };
    const mine = await exported('berth');
    const theirs = await exported('podman');
    // Runtime mount points Buildah keeps in its layers, and folder times, are not compared.
    const runtimeOnly = /^(|etc\/hostname|etc\/hosts|etc\/resolv\.conf|run(\/.*)?)$/;
    const names = (m: Map<string, string>) => [...m.keys()].filter((k) => !runtimeOnly.test(k)).sort();
    assert.deepEqual(names(mine), names(theirs));
    for (const name of names(mine)) assert.equal(mine.get(name), theirs.get(name), name);
  });
});
