/**
 * Clients other than the docker CLI on its unix socket, against `berth system service` in a
 * sandbox: the docker CLI over TCP with TLS client certificates, docker-compose v1 (Debian's)
 * with two services that reach each other by name, dockerode, and testcontainers for Node
 * with its reaper disabled. A client that is not installed skips its test, saying so.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../src/core/exec.js';
import {
  type DockerService,
  dockerServiceSandbox,
  haveDocker,
  startDockerService,
} from './helpers/docker-service.js';
import { freePort } from './helpers/etcd.js';
import { isRoot, repoRoot, type Sandbox } from './helpers/sandbox.js';
import { until } from './helpers/until.js';

const haveCompose = spawnSync('docker-compose', ['version']).status === 0;
const requireHere = createRequire(join(repoRoot, 'package.json'));
/** Where an npm package resolves from this repository, or undefined when it is not installed. */
function resolvePackage(name: string): string | undefined {
  try {
    return requireHere.resolve(name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw e;
  }
}
const missingPackage = (name: string) =>
  !resolvePackage(name) && `needs the npm package ${name} (a devDependency; run npm install)`;

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl in `dir`. */
async function makeCertificates(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const ssl = (args: string[]) => run('openssl', args, { cwd: dir });
  const key = (file: string) =>
    ssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
  await key('ca-key.pem');
  await ssl([
    'req',
    '-x509',
    '-new',
    '-key',
    'ca-key.pem',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=berth-test-ca',
  ]);
  const signed = async (name: string, ext: string) => {
    await key(`${name}-key.pem`);
    await ssl(['req', '-new', '-key', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    writeFileSync(join(dir, `${name}.ext`), ext);
    await ssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    ]);
  };
  await signed('server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await signed('client', 'extendedKeyUsage=clientAuth\n');
}

describe('other clients against berth system service: TLS, docker-compose, dockerode, testcontainers', {
  skip: (!isRoot && 'needs root') || (!haveDocker && 'needs the docker CLI'),
}, () => {
  let box: Sandbox;
  let svc: DockerService;
  const image = 'bb:dockerclients';

  before(async () => {
    ({ box, svc } = await dockerServiceSandbox(image));
  });
  after(() => box.cleanup());

  it('serves TCP only with TLS, to clients with a certificate from its CA', async () => {
    const certs = join(box.dir, 'certs');
    await makeCertificates(certs);
    const plain = await box.berth(['system', 'service', 'tcp://127.0.0.1:2376']);
    assert.equal(plain.code, 125);
    assert.match(plain.stderr, /without TLS/);
    const stray = await box.berth([
      'system',
      'service',
      'tcp://127.0.0.1:2376',
      '--tlscacert',
      join(certs, 'ca.pem'),
    ]);
    assert.equal(stray.code, 125);
    assert.match(stray.stderr, /--tlscacert needs --tlsverify/);
    const f = (n: string) => join(certs, n);
    const tls = await startDockerService(box, {
      uri: 'tcp://127.0.0.1:0',
      args: [
        '--tlsverify',
        '--tlscacert',
        f('ca.pem'),
        '--tlscert',
        f('server.pem'),
        '--tlskey',
        f('server-key.pem'),
      ],
    });
    const host = tls.env.DOCKER_HOST!;
    assert.match(host, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    // The listener is in the sandbox's namespace: the CLI runs there too.
    const docker = (args: string[]) =>
      box.exec('docker', ['-H', host, ...args], {
        check: false,
        env: { DOCKER_CONFIG: join(box.dir, 'docker-config') },
      });
    const withCert = [
      '--tlsverify',
      '--tlscacert',
      f('ca.pem'),
      '--tlscert',
      f('client.pem'),
      '--tlskey',
      f('client-key.pem'),
    ];
    const ok = await docker([...withCert, 'run', '--rm', '--network', 'none', image, 'echo', 'over tls']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'over tls\n');
    // Without a client certificate the handshake is refused; plain HTTP gets nowhere.
    const anonymous = await docker(['--tlsverify', '--tlscacert', f('ca.pem'), 'version']);
    assert.notEqual(anonymous.code, 0);
    assert.doesNotMatch(anonymous.stdout, /Berth/);
    const curl = await box.exec(
      'curl',
      ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${host.slice(6)}/_ping`],
      {
        check: false,
      },
    );
    assert.notEqual(curl.stdout, '200');
  });

  it('runs a docker-compose v1 project: up -d, ps, logs, two services by name, down with networks and volumes', {
    skip: !haveCompose && 'needs docker-compose (Debian package docker-compose)',
  }, async () => {
    const dir = join(box.dir, 'compose');
    mkdirSync(dir);
    const port = await freePort();
    writeFileSync(
      join(dir, 'docker-compose.yml'),
      `version: "2.4"
services:
  web:
    image: ${image}
    command: ["sh", "-c", "mkdir -p /data/www && echo hello-from-web > /data/www/index.html && exec httpd -f -p 8080 -h /data/www"]
    ports: ["${port}:8080"]
    volumes: ["data:/data"]
    stop_grace_period: 1s
  client:
    image: ${image}
    depends_on: [web]
    stop_grace_period: 1s
    command: ["sh", "-c", "until timeout 2 wget -qO /tmp/got http://web:8080/; do sleep 0.2; done; cat /tmp/got; exec sleep 1000"]
volumes:
  data: {}
`,
    );
    const project = box.name('proj').replace(/-/g, '');
    const compose = (args: string[]) =>
      run('docker-compose', ['-p', project, ...args], { check: false, cwd: dir, env: svc.env });
    const up = await compose(['up', '-d']);
    assert.equal(up.code, 0, up.stderr);
    await until('the client reached web by name', async () =>
      (await compose(['logs', 'client'])).stdout.includes('hello-from-web'),
    );
    const ps = await compose(['ps']);
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, new RegExp(`${project}_web_1 .* Up`));
    assert.match(ps.stdout, new RegExp(`${project}_client_1 .* Up`));
    // The published port, from the sandbox's namespace where the service runs.
    const got = await box.exec('timeout', ['5', 'wget', '-qO-', `http://127.0.0.1:${port}/`], {
      check: false,
    });
    assert.equal(got.stdout, 'hello-from-web\n');
    const down = await compose(['down', '-v']);
    assert.equal(down.code, 0, down.stderr);
    assert.doesNotMatch(await svc.ok(['network', 'ls', '--format', '{{.Name}}']), new RegExp(project));
    assert.doesNotMatch(await svc.ok(['volume', 'ls', '--format', '{{.Name}}']), new RegExp(project));
    assert.equal(await svc.ok(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]), '');
  });

  it('serves dockerode: ping, list images, run a container and read its output', {
    skip: missingPackage('dockerode'),
  }, async () => {
    type Docker = {
      ping(): Promise<unknown>;
      listImages(): Promise<{ RepoTags: string[] | null }[]>;
      run(
        image: string,
        cmd: string[],
        out: NodeJS.WritableStream,
        create: Record<string, unknown>,
      ): Promise<[{ StatusCode: number }, { remove(): Promise<unknown> }]>;
    };
    const mod = (await import(resolvePackage('dockerode')!)) as { default: new (o: object) => Docker };
    const docker = new mod.default({ socketPath: svc.sock });
    assert.equal(String(await docker.ping()), 'OK');
    assert.ok((await docker.listImages()).some((i) => i.RepoTags?.includes(image)));
    const { PassThrough } = await import('node:stream');
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => {
      text += d.toString();
    });
    const [result, container] = await docker.run(image, ['sh', '-c', 'echo from-dockerode; exit 2'], out, {
      Tty: true,
      HostConfig: { NetworkMode: 'none' },
    });
    assert.equal(result.StatusCode, 2);
    assert.match(text, /from-dockerode/);
    await container.remove();
  });

  it('serves testcontainers (reaper disabled): a container from a local image, reached on its mapped port', {
    skip: missingPackage('testcontainers'),
  }, async () => {
    // The published port is in the sandbox's namespace, so the client runs there, in its own Node.
    const script = join(box.dir, 'tc.mjs');
    writeFileSync(
      script,
      `import { GenericContainer, Wait } from ${JSON.stringify(resolvePackage('testcontainers'))};
const c = await new GenericContainer(process.argv[2])
  .withCommand(['sh', '-c', 'mkdir -p /www && echo hello-tc > /www/index.html && exec httpd -f -p 8080 -h /www'])
  .withExposedPorts(8080)
  .withWaitStrategy(Wait.forListeningPorts())
  .start();
const res = await fetch(\`http://\${c.getHost()}:\${c.getMappedPort(8080)}/\`);
process.stdout.write(await res.text());
await c.stop();
`,
    );
    const r = await box.exec(process.execPath, [script, image], {
      check: false,
      env: {
        DOCKER_HOST: svc.env.DOCKER_HOST,
        TESTCONTAINERS_RYUK_DISABLED: 'true',
        TESTCONTAINERS_HOST_OVERRIDE: '127.0.0.1',
        HOME: box.dir,
      },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello-tc\n');
  });
});
