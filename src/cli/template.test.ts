import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTemplate } from './template.js';

test('fields, json and index', () => {
  const d = { Id: 'x', State: { Running: true, ExitCode: 0 }, Config: { Labels: { a: 'b' } }, List: [1, 2] };
  assert.equal(formatTemplate('{{.Id}} {{.State.Running}}', d), 'x true');
  assert.equal(formatTemplate('{{json .Config.Labels}}', d), '{"a":"b"}');
  assert.equal(formatTemplate('{{index .Config.Labels "a"}}', d), 'b');
  assert.equal(formatTemplate('{{.Missing}}', d), '<no value>');
  assert.equal(formatTemplate('{{.List}}', d), '[1 2]');
  assert.throws(() => formatTemplate('{{range .List}}', d), /Unsupported template expression/);
});
