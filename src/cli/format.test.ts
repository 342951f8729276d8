// Reference: `docker ps --format 'table {{.ID}}\t{{.Names}}'` prints Docker's titles and
// pads every column but the last to its widest cell plus 3 (at least 10), per Go's tabwriter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRows, goTime, labelList } from './format.js';

test('table: titles, then rows aligned as tabwriter does', () => {
  const rows = [
    { ID: 'abc123', Names: 'web', CreatedAt: 'now' },
    { ID: 'a-much-longer-id', Names: 'db', CreatedAt: 'then' },
  ];
  assert.deepEqual(
    formatRows('table {{.ID}}\\t{{.Names}}\\t{{.CreatedAt}}', rows, { ID: 'CONTAINER ID', Names: 'NAMES' }),
    [
      'CONTAINER ID       NAMES     CREATED AT',
      'abc123             web       now',
      'a-much-longer-id   db        then',
    ],
  );
});

test('without table: one rendered line per row, no titles', () => {
  assert.deepEqual(formatRows('{{.ID}}', [{ ID: 'a' }, { ID: 'b' }], {}), ['a', 'b']);
});

test("labels and times as Docker's list templates show them", () => {
  assert.equal(labelList({ b: '2', a: '1' }), 'a=1,b=2');
  assert.equal(labelList(undefined), '');
  assert.equal(goTime('2026-11-30T10:00:05.123Z'), '2026-11-30 10:00:05 +0000 UTC');
});
