// The pod network across nodes: two nodes, each an agent in a network namespace of its own,
// joined by a wire the test makes (test/helpers/multinode.ts). On one shared subnet auto picks
// host-gw; on two routed subnets it picks VXLAN. A pod on n0 reaches a pod on n1 by IP with its
// own address, reaches outside the cluster masqueraded, and `berth agent --cleanup` on n1
// leaves n1's namespace as the test made it; n1's routes leave n0 with its Node.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { until } from './helpers/cluster.js';
import { inPod, type MultiNode, networkState, startMultiNode } from './helpers/multinode.js';
import { isRoot, type Sandbox } from './helpers/sandbox.js';

const pod = (name: string, node: string, script: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: {
    nodeName: node,
    terminationGracePeriodSeconds: 1,
    containers: [
      { name: 'main', image: 'busybox:local', imagePullPolicy: 'Never', command: ['sh', '-c', script] },
    ],
  },
});

// --flannel-backend host-gw on one subnet (the pod MTU is the wire's); auto on one subnet,
// where it probes the peer as directly connected and routes host-gw, and on routed subnets,
// where it must pick VXLAN. auto keeps VXLAN's MTU (the wire's less 50 bytes) for every pod,
// since a peer that joins later may need VXLAN.
for (const v of [
  { flag: 'host-gw', backend: 'host-gw', routed: false, mtu: '1500' },
  { flag: 'auto', backend: 'host-gw', routed: false, mtu: '1450' },
  { flag: 'auto', backend: 'vxlan', routed: true, mtu: '1450' },
] as const) {
  describe(`pod network across two nodes, ${v.routed ? 'routed subnets' : 'one subnet'}, --flannel-backend ${v.flag} (${v.backend})`, {
    skip: !isRoot,
  }, () => {
    let m: MultiNode;
    before(async () => {
      m = await startMultiNode(undefined, { count: 2, routed: v.routed, backend: v.flag });
    });
    after(() => m?.cleanup());
    const json = (args: string[]) => m.cluster.json(args);
    const running = async (name: string) => {
      await m.cluster.running(name);
      return (await json(['get', 'pod', name])).status.podIP as string;
    };
    const routesOf = async (box: Sandbox) =>
      JSON.parse((await box.exec('ip', ['-j', 'route', 'show', 'proto', '195'])).stdout || '[]') as {
        dst: string;
        gateway?: string;
        dev?: string;
      }[];
    let webIP = '';
    let clientIP = '';

    test(`each node routes to the other's pod CIDR (${v.backend})`, async () => {
      const [n0, n1] = m.nodes as [MultiNode['nodes'][0], MultiNode['nodes'][0]];
      const cidr1 = (await json(['get', 'node', 'n1'])).spec.podCIDR as string;
      const want =
        v.backend === 'host-gw'
          ? { gateway: n1.ip, dev: 'eth0' }
          : { gateway: cidr1.replace(/\/24$/, ''), dev: 'berth.1' };
      await until('n0 routes to n1 pods', async () =>
        (await routesOf(n0.box)).some(
          (r) => r.dst === cidr1 && r.gateway === want.gateway && r.dev === want.dev,
        ),
      );
      const node1 = await json(['get', 'node', 'n1']);
      assert.equal(node1.metadata.annotations['flannel.alpha.coreos.com/public-ip'], n1.ip);
    });

    test('a pod on n0 reaches a pod on n1 by IP (ping and HTTP), seen with its own address', async () => {
      await m.cluster.apply(
        pod(
          'web',
          'n1',
          'mkdir -p /www && echo hello-from-n1 > /www/index.html && exec httpd -f -vv -p 80 -h /www',
        ),
        pod('client', 'n0', 'exec sleep 100000'),
      );
      webIP = await running('web');
      clientIP = await running('client');
      const [n0] = m.nodes;
      const ping = await inPod(n0!.box, 'client', ['ping', '-c', '1', '-W', '5', webIP]);
      assert.equal(ping.code, 0, ping.stdout + ping.stderr);
      // (busybox wget's own -T timeout crashes it; `timeout` bounds the wait instead.)
      const get = await inPod(n0!.box, 'client', [
        'timeout',
        '10',
        'wget',
        '-q',
        '-O',
        '-',
        `http://${webIP}/`,
      ]);
      assert.equal(
        get.stdout,
        'hello-from-n1\n',
        `${get.code} ${get.stderr} ${(await m.cluster.kubectl(['logs', 'web'])).stdout}`,
      );
      // The pod's MTU fits the backend: VXLAN takes 50 bytes of the wire's 1500.
      const mtu = await inPod(n0!.box, 'client', ['cat', '/sys/class/net/eth0/mtu']);
      assert.equal(mtu.stdout.trim(), v.mtu, mtu.stderr);
      // Pod-to-pod traffic keeps the client pod's address (no masquerading between pods).
      await until('web logged the client', async () =>
        (await m.cluster.kubectl(['logs', 'web'])).stdout.includes(clientIP),
      );
    });

    test('pods reach addresses outside the cluster, masqueraded behind the node', async () => {
      // The wire has no route back to any pod range: only a masqueraded ping is answered.
      const ping = await inPod(m.nodes[0]!.box, 'client', ['ping', '-c', '1', '-W', '5', m.outside]);
      assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    });

    test("a restarted agent keeps its node's network as it was; pods still reach each other", async () => {
      const n1 = m.nodes[1]!;
      const links = async () => (await n1.box.exec('ip', ['-o', 'link', 'show'])).stdout;
      const routes = async () => (await n1.box.exec('ip', ['route', 'show', 'proto', '195'])).stdout;
      const [linksBefore, routesBefore] = [await links(), await routes()];
      await n1.stopAgent();
      await n1.startAgent();
      // The new agent has prepared the node (it runs pods only after that): the same devices (ifindex and MAC included) and routes: nothing was made again.
      assert.equal(await links(), linksBefore);
      assert.equal(await routes(), routesBefore);
      const ping = await inPod(m.nodes[0]!.box, 'client', ['ping', '-c', '1', '-W', '5', webIP]);
      assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    });

    test('--cleanup leaves n1 as the test made it; deleting n1 takes its routes off n0', async () => {
      const [n0, n1] = m.nodes as [MultiNode['nodes'][0], MultiNode['nodes'][0]];
      const cidr1 = (await json(['get', 'node', 'n1'])).spec.podCIDR as string;
      await n1.stopAgent();
      const r = await n1.box.berth(['agent', '--cleanup']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Removed /);
      assert.equal(await networkState(n1.box), n1.baseline);
      const ps = await n1.box.berth(['ps', '-a', '-q']);
      assert.equal(ps.stdout.trim(), '');
      const again = await n1.box.berth(['agent', '--cleanup']);
      assert.equal(again.stdout, 'Nothing to remove\n', again.stderr);
      const del = await m.cluster.kubectl(['delete', 'node', 'n1']);
      assert.equal(del.code, 0, del.stderr);
      await until('n0 forgot n1 pods', async () => !(await routesOf(n0.box)).some((x) => x.dst === cidr1));
      if (v.backend === 'vxlan') {
        const fdb = await n0.box.exec('bridge', ['fdb', 'show', 'dev', 'berth.1']);
        assert.ok(!fdb.stdout.includes(`dst ${n1.ip} `), fdb.stdout);
      }
    });
  });
}
