// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile variables, not template placeholders
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flag, flags, parseDockerfile } from './dockerfile.js';
import { planStages } from './stages.js';

const parse = (text: string) => parseDockerfile(text);
const cmds = (text: string) => parse(text).instructions.map((i) => `${i.cmd} ${i.args}`);

test('instructions are case-insensitive; comments and blank lines are skipped', () => {
  assert.deepEqual(cmds('from busybox\n\n# comment\n  run echo hi\n'), ['FROM busybox', 'RUN echo hi']);
});

test('line continuations join lines and drop comment lines inside', () => {
  const df = parse('FROM a\nRUN echo a \\\n  b \\\n# inside\n\n  c\n');
  assert.equal(df.instructions[1]!.args, 'echo a   b   c');
  assert.equal(df.instructions[1]!.line, 2);
});

test('escape directive switches the continuation character', () => {
  const df = parse('# escape=`\nFROM a\nRUN dir c:\\ `\n  /w\n');
  assert.equal(df.escape, '`');
  assert.equal(df.instructions[1]!.args, 'dir c:\\   /w');
});

test('directives only count at the top, and only once', () => {
  const df = parse('# syntax=docker/dockerfile:1\n# escape=\\\nFROM a\n# escape=`\nRUN x \\\n y');
  assert.equal(df.directives.syntax, 'docker/dockerfile:1');
  assert.equal(df.instructions[1]!.args, 'x  y');
  assert.throws(
    () => parse('# escape=\\\n# escape=`\nFROM a'),
    /Dockerfile:2: only one escape parser directive/,
  );
  assert.throws(() => parse('# escape=x\nFROM a'), /invalid escape token/);
  // A comment first ends the directives: the later line is an ordinary comment.
  assert.equal(parse('# hello\n# escape=`\nFROM a').escape, '\\');
});

test('unknown instructions and flags name the line', () => {
  assert.throws(() => parse('FROM a\n\nFORM b\n'), { message: 'Dockerfile:3: unknown instruction: FORM' });
  assert.throws(() => parse('FROM a\nCOPY --form=x a b\n'), /Dockerfile:2: unknown flag: form/);
  assert.throws(() => parse('FROM a\nRUN --from=x true\n'), /Dockerfile:2: unknown flag: from/);
  assert.throws(() => parse('FROM a\nCOPY --from a b\n'), /Dockerfile:2: missing a value on flag: from/);
  assert.throws(() => parse('FROM a b\n'), /Dockerfile:1: FROM requires either one or three arguments/);
  assert.throws(() => parse('FROM a\nCOPY onlyone\n'), /Dockerfile:2: COPY requires at least two arguments/);
  assert.throws(() => parse('FROM a\nSHELL sh -c\n'), /SHELL requires the arguments to be in JSON form/);
  assert.throws(() => parse('FROM a\nONBUILD ONBUILD RUN x\n'), /Chaining ONBUILD/);
});

test('flags come before the arguments and repeat', () => {
  const df = parse(
    'FROM a\nCOPY --from=b --chown=1:2 --link src dst\nRUN --mount=type=cache,target=/c --mount=type=tmpfs,target=/t make\n',
  );
  const copy = df.instructions[1]!;
  assert.equal(flag(copy, 'from'), 'b');
  assert.equal(flag(copy, 'chown'), '1:2');
  assert.equal(flag(copy, 'link'), 'true');
  assert.equal(copy.args, 'src dst');
  const run = df.instructions[2]!;
  assert.deepEqual(flags(run, 'mount'), ['type=cache,target=/c', 'type=tmpfs,target=/t']);
  assert.equal(run.args, 'make');
});

test('exec form is a JSON array of strings; anything else is shell form', () => {
  const df = parse('FROM a\nCMD ["echo", "hi"]\nCMD [echo hi]\nENTRYPOINT ["a", 1]\n');
  assert.deepEqual(df.instructions[1]!.json, ['echo', 'hi']);
  assert.equal(df.instructions[2]!.json, undefined);
  assert.equal(df.instructions[3]!.json, undefined);
});

test('heredocs: bodies, quoted delimiters, <<- tab stripping, several on one line', () => {
  const df = parse(
    'FROM a\nRUN <<EOF\necho $HOME\nEOF\nCOPY <<"one" <<-two /dst/\nraw $X\none\n\tstripped\n\ttwo\nRUN echo done\n',
  );
  const run = df.instructions[1]!;
  assert.deepEqual(run.heredocs, [{ name: 'EOF', content: 'echo $HOME\n', expand: true, stripTabs: false }]);
  const copy = df.instructions[2]!;
  assert.equal(copy.heredocs.length, 2);
  assert.equal(copy.heredocs[0]!.content, 'raw $X\n');
  assert.equal(copy.heredocs[0]!.expand, false);
  assert.equal(copy.heredocs[1]!.content, 'stripped\n');
  assert.equal(df.instructions[3]!.args, 'echo done');
  assert.equal(df.instructions[3]!.line, 10);
  assert.throws(() => parse('FROM a\nRUN <<EOF\necho\n'), /Dockerfile:2: unterminated heredoc/);
});

test('the file name appears in errors', () => {
  assert.throws(() => parseDockerfile('BAD x', 'app.Dockerfile'), {
    message: 'app.Dockerfile:1: unknown instruction: BAD',
  });
});

test('stages: names, indexes, global ARGs in FROM, build args override defaults', () => {
  const df = parse(
    'ARG BASE=busybox\nARG TAG\nFROM ${BASE}:${TAG:-latest} AS Build\nRUN x\nFROM build\nCOPY --from=0 /a /b\nFROM other AS unused\nFROM $BASE\nCOPY --from=build /x /y\n',
  );
  const plan = planStages(df, new Map([['TAG', '1.36']]));
  assert.equal(plan.stages.length, 4);
  assert.equal(plan.stages[0]!.base, 'busybox:1.36');
  assert.equal(plan.stages[0]!.name, 'build');
  assert.equal(plan.stages[1]!.baseStage, 0);
  assert.deepEqual([...plan.stages[1]!.deps], [0]);
  assert.equal(plan.target, 3);
  assert.deepEqual(plan.needed, [0, 3], 'the unused stages are not built');
  assert.equal(plan.globals.get('BASE'), 'busybox');
  assert.equal(planStages(df, new Map()).stages[0]!.base, 'busybox:latest');
});

test('--target picks a stage by name, case-insensitively, with its dependencies', () => {
  const df = parse('FROM a AS one\nFROM b AS two\nCOPY --from=one / /\nFROM c AS three\n');
  assert.deepEqual(planStages(df, new Map(), 'TWO').needed, [0, 1]);
  assert.throws(() => planStages(df, new Map(), 'four'), /target stage "four" could not be found/);
});

test('RUN --mount from= counts as a dependency', () => {
  const df = parse('FROM a AS src\nFROM b\nRUN --mount=type=bind,from=src,target=/s cat /s/x\n');
  assert.deepEqual(planStages(df, new Map()).needed, [0, 1]);
});

test('stage errors: no FROM, instructions before FROM, duplicate names, bad names', () => {
  assert.throws(() => planStages(parse('ARG A\n'), new Map()), /no FROM/);
  assert.throws(() => planStages(parse('RUN x\nFROM a\n'), new Map()), /Dockerfile:1: no build stage/);
  assert.throws(
    () => planStages(parse('FROM a AS x\nFROM b AS x\n'), new Map()),
    /Dockerfile:2: duplicate stage name "x"/,
  );
  assert.throws(() => planStages(parse('FROM a AS 1x\n'), new Map()), /invalid name for build stage/);
  assert.throws(
    () => planStages(parse('ARG B\nFROM $B\n'), new Map()),
    /base name \(\$B\) should not be blank/,
  );
});

test('platform ARGs are predefined in the global scope', () => {
  const plan = planStages(parse('FROM busybox-$TARGETARCH\n'), new Map());
  assert.match(plan.stages[0]!.base, /^busybox-(amd64|arm64|.+)$/);
  assert.notEqual(plan.stages[0]!.base, 'busybox-');
});
