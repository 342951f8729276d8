import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logger, setLogLevel, setLogSink } from './log.js';

test('lines are JSON with component and fields, filtered by level', () => {
  const lines: string[] = [];
  const prev = setLogSink((l) => lines.push(l));
  try {
    setLogLevel('info');
    const log = logger('engine').with({ id: 'abc' });
    log.debug('hidden');
    log.info('started', { pid: 7, err: new Error('x') });
    assert.equal(lines.length, 1);
    const rec = JSON.parse(lines[0]!);
    assert.equal(rec.component, 'engine');
    assert.equal(rec.id, 'abc');
    assert.equal(rec.pid, 7);
    assert.equal(rec.err, 'x');
    assert.equal(rec.msg, 'started');
  } finally {
    setLogSink(prev);
    setLogLevel('warn');
  }
});
