// ClusterIP and node port allocation through the REST storage, with two API servers' storages
// on one store (the in-memory double and SQLite): values are taken by compare-and-set keys, so
// none is handed out twice, and they are freed on delete, on a failed write and by repair.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { encode } from '../api/objects.js';
import { type ResourceInfo, ResourceRegistry } from '../api/resources.js';
import type { KubeObject } from '../api/selectors.js';
import { ApiError } from '../api/status.js';
import { memoryStore } from '../store/memory.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { ServiceAllocator } from './allocators.js';
import { RestStorage } from './rest.js';
import { parseServiceCidr } from './service-cidr.js';

const dir = tempDir('berth-alloc-');
let dbs = 0;

const registry = new ResourceRegistry();
const services = registry.get('', 'v1', 'services') as ResourceInfo;
const namespaces = registry.get('', 'v1', 'namespaces') as ResourceInfo;
const ipKeys = '/registry/ranges/serviceips/';
const portKeys = '/registry/ranges/servicenodeports/';

type Spec = {
  clusterIP?: string;
  type?: string;
  ports: { port: number; nodePort?: number; protocol?: string }[];
};
const svc = (name: string, spec: Partial<Spec> = {}): KubeObject => ({
  metadata: { name },
  spec: { ports: [{ port: 80 }], ...spec },
});
const specOf = (o: KubeObject) => o.spec as Spec;

async function causeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ApiError, String(e));
    assert.equal(e.httpCode, 422, e.message);
    const c = e.statusDetails?.causes?.[0];
    return `${c?.field}: ${c?.message}`;
  }
  assert.fail('expected 422 Invalid');
}

for (const [backend, open] of [
  ['memory', async () => memoryStore()],
  ['sqlite', async () => openSqliteStore(join(dir, `a${dbs++}.db`))],
] as const)
  describe(`service allocation (${backend} store)`, () => {
    /** Two API servers' storages over one store, and the default namespace. */
    async function cluster(store?: Store): Promise<{ store: Store; a: RestStorage; b: RestStorage }> {
      const s = store ?? (await open());
      const a = new RestStorage(s);
      await a.ensure(namespaces, undefined, { metadata: { name: 'default' } });
      return { store: s, a, b: new RestStorage(s) };
    }

    test('200 creates in flight on two API servers never share a ClusterIP or node port', async () => {
      const { store, a, b } = await cluster();
      try {
        const made = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            (i % 2 ? a : b).create(
              services,
              'default',
              svc(`s${i}`, i % 4 < 2 ? { type: 'NodePort', ports: [{ port: 80 }, { port: 81 }] } : {}),
              {},
            ),
          ),
        );
        const ips = made.map((o) => specOf(o).clusterIP);
        const ports = made.flatMap((o) =>
          specOf(o)
            .ports.map((p) => p.nodePort)
            .filter((p) => p !== undefined),
        );
        assert.equal(new Set(ips).size, 200);
        assert.equal(ports.length, 200);
        assert.equal(new Set(ports).size, 200);
        for (const p of ports) assert.ok((p as number) >= 30000 && (p as number) <= 32767, String(p));
        assert.equal(await store.count(ipKeys), 200);
        assert.equal(await store.count(portKeys), 200);
      } finally {
        await store.close();
      }
    });

    test('an asked-for IP or port already in use is 422 as upstream words it; delete frees both', async () => {
      const { store, a, b } = await cluster();
      try {
        await a.create(
          services,
          'default',
          svc('one', { clusterIP: '10.43.7.7', type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }),
          {},
        );
        assert.equal(
          await causeOf(b.create(services, 'default', svc('two', { clusterIP: '10.43.7.7' }), {})),
          'spec.clusterIPs: Invalid value: []string{"10.43.7.7"}: failed to allocate IP 10.43.7.7: provided IP is already allocated',
        );
        assert.equal(
          await causeOf(
            b.create(
              services,
              'default',
              svc('two', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }),
              {},
            ),
          ),
          'spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated',
        );
        assert.equal(
          await causeOf(b.create(services, 'default', svc('two', { clusterIP: '10.44.0.9' }), {})),
          'spec.clusterIPs: Invalid value: []string{"10.44.0.9"}: failed to allocate IP 10.44.0.9: provided IP is not in the valid range. The range of valid IPs is 10.43.0.0/16',
        );
        assert.equal(
          await causeOf(
            b.create(
              services,
              'default',
              svc('two', { type: 'NodePort', ports: [{ port: 80, nodePort: 8080 }] }),
              {},
            ),
          ),
          'spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767',
        );
        // The refused creates took nothing, and a delete frees what the Service held.
        assert.equal(await store.count(ipKeys), 1);
        assert.equal(await store.count(portKeys), 1);
        await b.delete(services, 'default', 'one', {});
        assert.equal(await store.count(ipKeys), 0);
        assert.equal(await store.count(portKeys), 0);
        const again = await b.create(
          services,
          'default',
          svc('two', { clusterIP: '10.43.7.7', type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }),
          {},
        );
        assert.equal(specOf(again).clusterIP, '10.43.7.7');
      } finally {
        await store.close();
      }
    });

    test('updates take new node ports and free dropped ones, and type changes free what the type no longer uses', async () => {
      const { store, a } = await cluster();
      try {
        const made = await a.create(services, 'default', svc('web'), {});
        const asNodePort = await a.patch(
          services,
          'default',
          'web',
          'merge',
          { spec: { type: 'NodePort' } },
          {},
        );
        const first = specOf(asNodePort).ports[0]?.nodePort as number;
        assert.ok(first >= 30000, JSON.stringify(asNodePort.spec));
        assert.equal(specOf(asNodePort).clusterIP, specOf(made).clusterIP);
        assert.equal(await store.count(portKeys), 1);
        const moved = await a.patch(
          services,
          'default',
          'web',
          'json',
          [{ op: 'replace', path: '/spec/ports/0/nodePort', value: first === 32767 ? 30000 : first + 1 }],
          {},
        );
        const second = specOf(moved).ports[0]?.nodePort as number;
        assert.notEqual(second, first);
        assert.deepEqual(
          (await store.list(portKeys)).items.map((kv) => kv.key),
          [`${portKeys}${second}`],
        );
        // Back to ClusterIP frees the node port; on to ExternalName frees the ClusterIP.
        const plain = await a.patch(services, 'default', 'web', 'merge', { spec: { type: 'ClusterIP' } }, {});
        assert.equal(specOf(plain).ports[0]?.nodePort, undefined);
        assert.equal(await store.count(portKeys), 0);
        const ext = await a.patch(
          services,
          'default',
          'web',
          'merge',
          { spec: { type: 'ExternalName', externalName: 'example.com' } },
          {},
        );
        assert.equal(specOf(ext).clusterIP, undefined);
        assert.equal(await store.count(ipKeys), 0);
      } finally {
        await store.close();
      }
    });

    test('a Service write that fails gives back what it took', async () => {
      const base = await open();
      // A store whose Service writes fail, as a datastore error after allocation would.
      const failing: Store = Object.create(base, {
        create: {
          value: (key: string, value: string) =>
            key.startsWith('/registry/core/services/')
              ? Promise.reject(new Error('datastore went away'))
              : base.create(key, value),
        },
      });
      const { a } = await cluster(failing);
      try {
        await assert.rejects(
          a.create(services, 'default', svc('web', { type: 'NodePort', clusterIP: '10.43.1.1' }), {}),
          /datastore went away/,
        );
        assert.equal(await base.count(ipKeys), 0);
        assert.equal(await base.count(portKeys), 0);
      } finally {
        await base.close();
      }
    });

    test('repair takes keys for Services stored without them and frees keys of gone Services after the grace', async () => {
      const { store } = await cluster();
      try {
        const legacy = {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'old', namespace: 'default', uid: 'u-old' },
          spec: {
            clusterIP: '10.43.0.50',
            clusterIPs: ['10.43.0.50'],
            type: 'NodePort',
            ports: [{ port: 80, nodePort: 31000 }],
          },
        };
        await store.create('/registry/core/services/default/old', encode(legacy));
        const holder = (at: string) =>
          JSON.stringify({ namespace: 'default', name: 'gone', uid: 'u-gone', at });
        await store.create(`${ipKeys}10.43.0.60`, holder('2020-01-01T00:00:00.000Z'));
        await store.create(`${portKeys}31001`, holder(new Date().toISOString()));
        const done = await new ServiceAllocator(store).repair(60_000);
        assert.deepEqual(done, { taken: 2, freed: 1, doubles: [] });
        assert.deepEqual((await store.list('/registry/ranges/')).items.map((kv) => kv.key).sort(), [
          `${ipKeys}10.43.0.50`,
          `${portKeys}31000`,
          `${portKeys}31001`,
        ]);
        // The young key of a Service that is not (yet) stored is freed once it is past the grace.
        assert.equal((await new ServiceAllocator(store).repair(-1)).freed, 1);
        assert.equal(await store.count(portKeys), 1);
      } finally {
        await store.close();
      }
    });
  });

describe('service allocation: --service-cidr and IP families', () => {
  async function storage(cidr?: string) {
    const s = memoryStore();
    const rest = new RestStorage(s, undefined, undefined, cidr ? parseServiceCidr(cidr) : undefined);
    await rest.ensure(namespaces, undefined, { metadata: { name: 'default' } });
    return rest;
  }

  test('ClusterIPs come from the configured range; drawn ones stay above its low band', async () => {
    const rest = await storage('192.168.128.0/20');
    for (let i = 0; i < 20; i++) {
      const ip = specOf(await rest.create(services, 'default', svc(`s${i}`), {})).clusterIP!;
      const offset = parseServiceCidr('192.168.128.0/20').offsetOf(ip);
      // 1/16 of 4,096 addresses: the first 256 are left to addresses asked for by name.
      assert.ok(offset !== undefined && offset >= 256 && offset <= 4094, ip);
    }
    const dns = await rest.create(services, 'default', svc('dns', { clusterIP: '192.168.128.10' }), {});
    assert.equal(specOf(dns).clusterIP, '192.168.128.10');
    assert.equal(
      await causeOf(rest.create(services, 'default', svc('out', { clusterIP: '10.43.0.99' }), {})),
      'spec.clusterIPs: Invalid value: []string{"10.43.0.99"}: failed to allocate IP 10.43.0.99: provided IP is not in the valid range. The range of valid IPs is 192.168.128.0/20',
    );
  });

  test('a small range hands out every address but the network, broadcast and kubernetes ones', async () => {
    const rest = await storage('172.16.0.16/28');
    const got = new Set<string>();
    for (let i = 0; i < 13; i++)
      got.add(specOf(await rest.create(services, 'default', svc(`s${i}`), {})).clusterIP!);
    assert.deepEqual([...got].sort(), Array.from({ length: 13 }, (_, i) => `172.16.0.${18 + i}`).sort());
    assert.equal(
      await causeOf(rest.create(services, 'default', svc('full'), {})),
      'spec.clusterIPs: Internal error: failed to allocate a serviceIP: range is full',
    );
  });

  test('IPv6 and dual-stack Services are refused in upstream words; defaults as upstream', async () => {
    const rest = await storage();
    const refused: [Record<string, unknown>, string][] = [
      [{ ipFamilies: ['IPv6'] }, 'spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster'],
      [
        { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'] },
        'spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster',
      ],
      [
        { ipFamilyPolicy: 'RequireDualStack' },
        'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services',
      ],
      [
        { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] },
        'spec.ipFamilies[1]: Invalid value: "IPv6": not configured on this cluster',
      ],
      [
        { ipFamilies: ['IPv4', 'IPv6'] },
        "spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
      ],
      [
        { clusterIP: 'fd00:43::5' },
        'spec.clusterIPs[0]: Invalid value: []string{"fd00:43::5"}: IPv6 is not configured on this cluster',
      ],
      [
        { clusterIPs: ['fd00:43::5'] },
        'spec.clusterIPs[0]: Invalid value: []string{"fd00:43::5"}: IPv6 is not configured on this cluster',
      ],
      [
        { ipFamilies: ['IPv5'] },
        'spec.ipFamilies[0]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6"',
      ],
      [
        { ipFamilyPolicy: 'Both' },
        'spec.ipFamilyPolicy: Unsupported value: "Both": supported values: "PreferDualStack", "RequireDualStack", "SingleStack"',
      ],
    ];
    for (const [spec, cause] of refused)
      assert.equal(
        await causeOf(rest.create(services, 'default', svc('v6', spec), {})),
        cause,
        JSON.stringify(spec),
      );
    type Families = { ipFamilies?: string[]; ipFamilyPolicy?: string; clusterIPs?: string[] };
    const made = async (name: string, spec: Record<string, unknown>) =>
      (await rest.create(services, 'default', svc(name, spec), {})).spec as Families;
    const plain = await made('plain', {});
    assert.deepEqual([plain.ipFamilies, plain.ipFamilyPolicy], [['IPv4'], 'SingleStack']);
    const prefer = await made('prefer', { ipFamilyPolicy: 'PreferDualStack' });
    assert.deepEqual([prefer.ipFamilies, prefer.ipFamilyPolicy], [['IPv4'], 'PreferDualStack']);
    assert.equal(prefer.clusterIPs?.length, 1);
    const headless = await made('headless', { clusterIP: 'None', selector: { app: 'x' } });
    assert.deepEqual([headless.ipFamilies, headless.ipFamilyPolicy], [['IPv4'], 'SingleStack']);
    // Headless without a selector gets no address, so upstream lets it name both families.
    const bare = await made('bare', { clusterIP: 'None' });
    assert.deepEqual([bare.ipFamilies, bare.ipFamilyPolicy], [['IPv4', 'IPv6'], 'RequireDualStack']);
  });
});
