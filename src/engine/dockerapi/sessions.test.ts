import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Sessions } from './sessions.js';

it('parks a request until the service starts the container, then hands it the run', async () => {
  const s = new Sessions();
  const parked = s.nextStart('c1', new AbortController().signal).then(() => s.currentExit('c1'));
  s.started('c1', Promise.resolve(3));
  assert.equal(await await parked, 3);
});

it('gives a wait that came after the start the exit of that start, once', async () => {
  const s = new Sessions();
  s.started('c1', Promise.resolve(4));
  assert.equal(await s.undeliveredExit('c1'), 4);
  assert.equal(s.undeliveredExit('c1'), undefined);
});

it('drops a parked request whose client went away', async () => {
  const s = new Sessions();
  const gone = new AbortController();
  const parked = s.nextStart('c1', gone.signal);
  gone.abort(new Error('client closed'));
  await assert.rejects(parked, /client closed/);
  s.started('c1', Promise.resolve(0));
});

it('answers a wait once the run is over and its attached output is written', async () => {
  const s = new Sessions();
  let exit!: (code: number) => void;
  s.started('c1', new Promise<number>((r) => (exit = r)));
  let written!: () => void;
  s.streaming('c1', new Promise<void>((r) => (written = r)));
  let answered: number | undefined;
  const wait = s.currentExit('c1')!.then((c) => (answered = c));
  exit(2);
  await new Promise((r) => setImmediate(r));
  assert.equal(answered, undefined, 'the output is still being written');
  written();
  await wait;
  assert.equal(answered, 2);
});
