// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile variables, not template placeholders
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImageConfigFile } from '../image/oci.js';
import type { ImageRuntimeConfig } from '../image/resolved-image.js';
import { applyConfigInstruction, parseDuration } from './config-step.js';
import { parseDockerfile } from './dockerfile.js';

/** Applies each line of `lines` in turn to an empty config with `vars`; returns it and the history texts. */
function apply(lines: string[], vars: Record<string, string> = {}, start: ImageRuntimeConfig = {}) {
  const df = parseDockerfile(`FROM x\n${lines.join('\n')}\n`);
  const c: ImageRuntimeConfig = structuredClone(start);
  const next = { config: c } as unknown as ImageConfigFile;
  const history: string[] = [];
  let cmdSet = false;
  for (const ins of df.instructions.slice(1)) {
    const r = applyConfigInstruction(c, next, ins, new Map(Object.entries(vars)), '\\', cmdSet);
    cmdSet = r.cmdSet;
    history.push(r.createdBy);
  }
  return { c, next, history };
}

test('ENV: both forms, quotes, expansion, later values win', () => {
  const { c, history } = apply(['ENV A=1 B="two words" C=${X:-dflt}', 'ENV D the rest of it', 'ENV A=3'], {
    X: '',
  });
  assert.deepEqual(c.Env, ['A=3', 'B=two words', 'C=dflt', 'D=the rest of it']);
  assert.equal(history[0], 'ENV A=1 B=two words C=dflt');
  assert.throws(() => apply(['ENV A=1 B']), /KEY=VALUE/);
  assert.throws(() => apply(['ENV LONELY']), /must have a value/);
});

test('LABEL merges; WORKDIR resolves relative paths; USER and STOPSIGNAL expand', () => {
  const { c } = apply(
    ['LABEL a=1 "b c"=2', 'LABEL a=3', 'WORKDIR /app', 'WORKDIR sub/$D', 'USER $U:0', 'STOPSIGNAL SIG$S'],
    {
      D: 'deep',
      U: 'nobody',
      S: 'INT',
    },
  );
  assert.deepEqual(c.Labels, { a: '3', 'b c': '2' });
  assert.equal(c.WorkingDir, '/app/sub/deep');
  assert.equal(c.User, 'nobody:0');
  assert.equal(c.StopSignal, 'SIGINT');
});

test('EXPOSE: protocols, ranges and errors', () => {
  const { c, history } = apply(['EXPOSE 80 53/udp 8000-8002/tcp']);
  assert.deepEqual(Object.keys(c.ExposedPorts ?? {}).sort(), [
    '53/udp',
    '80/tcp',
    '8000/tcp',
    '8001/tcp',
    '8002/tcp',
  ]);
  assert.match(history[0]!, /^EXPOSE map\[/);
  assert.throws(() => apply(['EXPOSE eighty']), /invalid containerPort: eighty/);
  assert.throws(() => apply(['EXPOSE 9-1']), /invalid port range/);
});

test('VOLUME: JSON and plain forms', () => {
  assert.deepEqual(apply(['VOLUME ["/a", "/b c"]']).c.Volumes, { '/a': {}, '/b c': {} });
  assert.deepEqual(apply(['VOLUME /x /y']).c.Volumes, { '/x': {}, '/y': {} });
});

test('CMD and ENTRYPOINT: shell form uses SHELL; ENTRYPOINT drops an inherited CMD only', () => {
  const inherited = apply(['ENTRYPOINT ["/run"]'], {}, { Cmd: ['old'] });
  assert.equal(inherited.c.Cmd, null);
  const own = apply(['CMD ["x"]', 'ENTRYPOINT ["/run"]'], {}, { Cmd: ['old'] });
  assert.deepEqual(own.c.Cmd, ['x']);
  const shell = apply(['SHELL ["/bin/bash", "-eo", "pipefail", "-c"]', 'CMD echo $HOME']);
  assert.deepEqual(shell.c.Cmd, ['/bin/bash', '-eo', 'pipefail', '-c', 'echo $HOME']);
  assert.deepEqual(apply(['CMD echo hi']).c.Cmd, ['/bin/sh', '-c', 'echo hi']);
});

test('HEALTHCHECK: CMD forms, durations, retries, NONE', () => {
  const { c } = apply([
    'HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --retries=3 CMD curl -f http://x/',
  ]);
  assert.deepEqual(c.Healthcheck, {
    Test: ['CMD-SHELL', 'curl -f http://x/'],
    Interval: 90e9,
    Timeout: 500e6,
    StartPeriod: 2e9,
    Retries: 3,
  });
  assert.deepEqual(apply(['HEALTHCHECK CMD ["true"]']).c.Healthcheck, { Test: ['CMD', 'true'] });
  assert.deepEqual(apply(['HEALTHCHECK NONE']).c.Healthcheck, { Test: ['NONE'] });
  assert.throws(() => apply(['HEALTHCHECK PING x']), /Unknown type "PING"/);
  assert.throws(() => apply(['HEALTHCHECK --interval=soon CMD true']), /invalid duration "soon"/);
});

test('ONBUILD and MAINTAINER', () => {
  const { c, next } = apply(['ONBUILD RUN make', 'ONBUILD COPY . /src', 'MAINTAINER Ann']);
  assert.deepEqual(c.OnBuild, ['RUN make', 'COPY . /src']);
  assert.equal(next.author, 'Ann');
});

test('parseDuration takes Go durations', () => {
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('1h2m3s'), 3723e9);
  assert.equal(parseDuration('1.5s'), 1.5e9);
  assert.throws(() => parseDuration('5'), /invalid duration/);
});
