import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BerthError,
  conflict,
  errorCode,
  errorMessage,
  isConflict,
  isNotFound,
  notFound,
  unlessNotFound,
} from './errors.js';

test('errorCode follows cause links', () => {
  const inner = notFound('No such container: x');
  const outer = new Error('starting failed', { cause: inner });
  assert.equal(errorCode(outer), 'NotFound');
  assert.ok(isNotFound(outer));
  assert.ok(!isConflict(outer));
});

test('foreign errors are Internal', () => {
  assert.equal(errorCode(new TypeError('x')), 'Internal');
  assert.equal(errorCode('a string'), 'Internal');
  assert.equal(errorCode(undefined), 'Internal');
});

test('details and message survive', () => {
  const e = new BerthError('InvalidArgument', 'Invalid memory value "12q"', { details: { field: 'memory' } });
  assert.equal(errorMessage(e), 'Invalid memory value "12q"');
  assert.deepEqual(e.details, { field: 'memory' });
});

test('unlessNotFound: the value, undefined for NotFound (also as a cause), any other failure as it was', async () => {
  assert.equal(await unlessNotFound(Promise.resolve(7)), 7);
  assert.equal(await unlessNotFound(Promise.reject(notFound('gone'))), undefined);
  assert.equal(await unlessNotFound(Promise.reject(new Error('x', { cause: notFound('gone') }))), undefined);
  const busy = conflict('busy');
  await assert.rejects(unlessNotFound(Promise.reject(busy)), (e) => e === busy);
});
