/**
 * bench/ingress-proxy: the Ingress's proxy alone against nginx as a proxy, both in front of
 * the same nginx backend (one worker, keep-alive on as nginx's default, or off with
 * BENCH_POD_KEEPALIVE=off, as the bench's web pod), on the loopback
 * of a network namespace of its own (made with `unshare -n`, gone when the run ends). No
 * cluster: `listenIngress` with one fixed route, in a process of its own. Prints requests per
 * second and CPU time per request (wrk, keep-alive and `Connection: close`) and per HTTPS
 * handshake (openssl s_time -new), the proxy's and nginx's, interleaved round by round.
 * BENCH_PROXY_MODULE names another proxy module to load (to compare two versions side by side).
 * Run as root:
 *   node --import tsx bench/ingress-proxy.ts [seconds=3] [rounds=3]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { podKeepAlive } from './lib/cluster.js';
import { interleave, percentile } from './lib/measure.js';
import { cpuMs, waitFor } from './lib/process.js';

const PORTS = { backend: 18080, proxyHttp: 18081, proxyHttps: 18443, nginxHttp: 18082, nginxHttps: 18444 };

if (process.argv[2] === 'serve') {
  // The proxy's process: one route to the backend, the default certificate for every name.
  const mod = process.argv[3] as string;
  const { listenIngress } = (await import(mod)) as typeof import('../src/cluster/ingress/proxy.js');
  const { RoundRobin } = await import('../src/cluster/ingress/backends.js');
  const { defaultRouteOptions } = await import('../src/cluster/ingress/annotations.js');
  const tls = await import('node:tls');
  const cert = {
    cert: readFileSync(process.argv[4] as string, 'utf8'),
    key: readFileSync(process.argv[5] as string, 'utf8'),
  };
  const ctx = tls.createSecureContext(cert);
  const route = {
    ingress: 'bench/bench',
    backend: { namespace: 'bench', service: 'web', port: { number: 80 } },
    options: defaultRouteOptions,
    tls: false,
  };
  const pool = new RoundRobin([{ host: '127.0.0.1', port: PORTS.backend }]);
  await listenIngress({
    address: '127.0.0.1',
    httpPort: PORTS.proxyHttp,
    httpsPort: PORTS.proxyHttps,
    defaultCertificate: cert,
    router: { match: () => route, pool: () => pool, contextFor: () => ctx },
  });
  // An orderly exit on SIGTERM, so that `node --cpu-prof` writes its profile.
  process.on('SIGTERM', () => process.exit(0));
  console.log('proxy listening');
} else if (!process.env.BENCH_IN_NETNS) {
  execFileSync(
    'unshare',
    [
      '-n',
      'sh',
      '-c',
      'ip link set lo up && exec "$@"',
      'sh',
      process.execPath,
      ...process.execArgv,
      ...process.argv.slice(1),
    ],
    { stdio: 'inherit', env: { ...process.env, BENCH_IN_NETNS: '1' } },
  );
} else {
  const keepAlive = podKeepAlive(true);
  const [seconds, rounds] = [3, 3].map((d, i) => Number(process.argv[2 + i] ?? d)) as [number, number];
  const dir = mkdtempSync(join(tmpdir(), 'ingress-proxy-'));
  const children: ReturnType<typeof spawn>[] = [];
  try {
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=bench.test'],
        ...['-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')],
      ],
      { stdio: 'ignore' },
    );
    writeFileSync(join(dir, 'f'), Buffer.alloc(4096));
    const temps = ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
      .map((t) => `${t === 'body' ? 'client_body' : t}_temp_path ${dir}/${t};`)
      .join(' ');
    const conf = (name: string, server: string) => {
      const p = join(dir, `${name}.conf`);
      writeFileSync(
        p,
        `daemon off; master_process off; worker_processes 1; pid ${dir}/${name}.pid; error_log ${dir}/${name}.log; events { worker_connections 4096; }\nhttp { access_log off; ${temps} ${server} }\n`,
      );
      return p;
    };
    const backend = conf(
      'backend',
      `${keepAlive ? '' : 'keepalive_timeout 0; '}server { listen 127.0.0.1:${PORTS.backend}; root ${dir}; }`,
    );
    const front = conf(
      'nginx',
      `upstream web { server 127.0.0.1:${PORTS.backend}; keepalive 64; }
       server { listen 127.0.0.1:${PORTS.nginxHttp}; listen 127.0.0.1:${PORTS.nginxHttps} ssl;
         ssl_certificate ${dir}/c.pem; ssl_certificate_key ${dir}/k.pem; ssl_protocols TLSv1.2 TLSv1.3;
         location / { proxy_pass http://web; proxy_http_version 1.1; proxy_set_header Connection "";
           proxy_set_header Host $host; proxy_set_header X-Forwarded-For $remote_addr; } }`,
    );
    for (const c of [backend, front])
      children.push(spawn('nginx', ['-c', c, '-p', dir], { stdio: 'ignore' }));
    const mod = resolve(process.env.BENCH_PROXY_MODULE ?? 'src/cluster/ingress/proxy.ts');
    const proxy = spawn(
      process.execPath,
      [...process.execArgv, process.argv[1] as string, 'serve', mod, join(dir, 'c.pem'), join(dir, 'k.pem')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(proxy);
    await waitFor(proxy, /proxy listening/);
    await new Promise((r) => setTimeout(r, 300));
    const nginxPid = children[1]?.pid ?? 0;
    const wrk = (port: number, close: boolean) => {
      const out = execFileSync(
        'wrk',
        [
          '-t1',
          '-c16',
          `-d${seconds}s`,
          ...(close ? ['-H', 'Connection: close'] : []),
          `http://127.0.0.1:${port}/f`,
        ],
        { encoding: 'utf8' },
      );
      const n = /(\d+) requests in/.exec(out);
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
      if (non2xx) throw new Error(`wrk saw ${non2xx[1]} errors: ${out}`);
      return Number(n?.[1] ?? 0);
    };
    const sTime = (port: number) => {
      const out = execFileSync(
        'openssl',
        ['s_time', '-connect', `127.0.0.1:${port}`, '-new', '-time', String(seconds), '-www', '/f'],
        { encoding: 'utf8' },
      );
      return Number(/(\d+) connections in/.exec(out)?.[1] ?? 0);
    };
    const figures = new Map<string, { rate: number[]; us: number[] }>();
    const run = (label: string, pid: number, count: () => number) => () => {
      const c0 = cpuMs(pid);
      const t0 = performance.now();
      const n = count();
      const secs = (performance.now() - t0) / 1000;
      const f = figures.get(label) ?? { rate: [], us: [] };
      f.rate.push(n / secs);
      f.us.push(((cpuMs(pid) - c0) * 1000) / n);
      figures.set(label, f);
      return n;
    };
    // Warm-up: V8 compiles the proxy's hot paths over its first requests.
    wrk(PORTS.proxyHttp, false);
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    interleave(rounds, 0, [
      run('proxy keep-alive', proxy.pid ?? 0, () => wrk(PORTS.proxyHttp, false)),
      run('nginx keep-alive', nginxPid, () => wrk(PORTS.nginxHttp, false)),
      run('proxy close', proxy.pid ?? 0, () => wrk(PORTS.proxyHttp, true)),
      run('nginx close', nginxPid, () => wrk(PORTS.nginxHttp, true)),
      run('proxy handshake', proxy.pid ?? 0, () => sTime(PORTS.proxyHttps)),
      run('nginx handshake', nginxPid, () => sTime(PORTS.nginxHttps)),
    ]);
    console.log(
      `proxy module ${mod}; backend keep-alive ${keepAlive ? 'on' : 'off'}; ${seconds} s x ${rounds} rounds; load at start ${load}; medians:`,
    );
    for (const [label, f] of figures)
      console.log(
        `  ${label}: ${percentile(f.rate, 50).toFixed(0)}/s, CPU ${percentile(f.us, 50).toFixed(0)} us each (rounds: ${f.us.map((u) => u.toFixed(0)).join(' ')})`,
      );
  } finally {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
