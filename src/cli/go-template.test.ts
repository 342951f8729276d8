import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderTemplate } from './go-template.js';

describe('renderTemplate', () => {
  const obj = {
    State: { Status: 'running', Pid: 42, Running: true },
    Name: '/x',
    Labels: { b: '2', a: '1' },
  };
  it('renders fields, json and escapes', () => {
    assert.equal(renderTemplate('{{.State.Status}} {{.State.Pid}}', obj), 'running 42');
    assert.equal(renderTemplate('{{json .State}}', obj), '{"Status":"running","Pid":42,"Running":true}');
    assert.equal(renderTemplate('{{.Labels}}\\t{{.Missing}}', obj), 'map[a:1 b:2]\t<no value>');
    assert.equal(renderTemplate('{{upper .State.Status}}', obj), 'RUNNING');
  });
  it('refuses what it cannot render', () => {
    assert.throws(() => renderTemplate('{{range .X}}', obj), /Unsupported --format expression/);
  });
});

it('index reads one key of a map', () => {
  const d = { Config: { Labels: { a: 'b' } } };
  assert.equal(renderTemplate('{{index .Config.Labels "a"}}', d), 'b');
  assert.equal(renderTemplate('{{index .Config.Labels "zz"}}', d), '<no value>');
});
