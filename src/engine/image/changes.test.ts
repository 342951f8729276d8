import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyChanges } from './changes.js';

test('the --change instructions docker import accepts', () => {
  const c = applyChanges({ Env: ['A=1'] }, [
    'CMD ["sh","-c","echo hi"]',
    'ENTRYPOINT /bin/init --flag',
    'ENV A=2 B="two words"',
    'ENV C three words',
    'WORKDIR /app',
    'USER 1000:1000',
    'LABEL a=b',
    'EXPOSE 80 53/udp',
    'STOPSIGNAL SIGINT',
    'VOLUME /data',
  ]);
  assert.deepEqual(c.Cmd, ['sh', '-c', 'echo hi']);
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c', '/bin/init --flag']);
  assert.deepEqual(c.Env, ['A=2', 'B=two words', 'C=three words']);
  assert.equal(c.WorkingDir, '/app');
  assert.equal(c.User, '1000:1000');
  assert.deepEqual(c.Labels, { a: 'b' });
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.equal(c.StopSignal, 'SIGINT');
  assert.deepEqual(c.Volumes, { '/data': {} });
});

test('bad changes name the instruction', () => {
  assert.throws(() => applyChanges({}, ['RUN echo']), /RUN is not supported/);
  assert.throws(() => applyChanges({}, ['CMD [1,2]']), /not a JSON array/);
  assert.throws(() => applyChanges({}, ['EXPOSE http']), /bad port "http"/);
  assert.throws(() => applyChanges({}, ['nonsense']), /expected an instruction/);
});
