// Expected outputs are what Go's text/template (with Docker's CLI functions) prints for the
// same template and data; the examples follow docs.docker.com/engine/cli/formatting/.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goJson, renderTemplate } from './go-template.js';

const ctr = {
  Name: '/web',
  State: { Status: 'running', Pid: 42, Running: true },
  Config: { Labels: { 'com.b': '2', 'com.a': '1' }, Env: ['A=1', 'B=2'], Cmd: ['sh', '-c', 'x'] },
  NetworkSettings: {
    Networks: { zeta: { IPAddress: '10.0.1.2' }, bridge: { IPAddress: '10.88.0.5' } },
  },
  Mounts: [] as unknown[],
};
const r = (t: string, d: unknown = ctr) => renderTemplate(t, d);

describe('Go templates', () => {
  it('fields, missing keys, escapes, maps and lists as %v prints them', () => {
    assert.equal(r('{{.State.Status}} {{.State.Pid}}'), 'running 42');
    assert.equal(r('{{.Config.Labels}}\\t{{.Missing}}'), 'map[com.a:1 com.b:2]\t<no value>');
    assert.equal(r('{{.Config.Env}}'), '[A=1 B=2]');
    assert.equal(r('{{.Mounts}}'), '[]');
  });

  it('range over a map (key order), a list, with variables and else', () => {
    assert.equal(r('{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'), '10.88.0.510.0.1.2');
    assert.equal(
      r('{{range $n, $c := .NetworkSettings.Networks}}{{$n}}={{$c.IPAddress}} {{end}}'),
      'bridge=10.88.0.5 zeta=10.0.1.2 ',
    );
    assert.equal(r('{{range $i, $e := .Config.Env}}{{$i}}:{{$e}};{{end}}'), '0:A=1;1:B=2;');
    assert.equal(r('{{range .Mounts}}x{{else}}none{{end}}'), 'none');
    // `$` is the data the template started with, inside range too.
    assert.equal(r('{{range .Config.Env}}{{$.Name}} {{end}}'), '/web /web ');
  });

  it('if / else if / else, with, and truth as Go sees it', () => {
    assert.equal(r('{{if .State.Running}}up{{else}}down{{end}}'), 'up');
    assert.equal(r('{{if .Mounts}}m{{else if eq .State.Status "running"}}r{{else}}x{{end}}'), 'r');
    assert.equal(r('{{if not .State.Pid}}zero{{else}}{{.State.Pid}}{{end}}'), '42');
    assert.equal(r('{{with .State}}{{.Status}}{{end}}'), 'running');
    assert.equal(r('{{with .Nothing}}x{{else}}empty{{end}}'), 'empty');
    assert.equal(r('{{if and .State.Running (gt .State.Pid 1)}}yes{{end}}'), 'yes');
    assert.equal(r('{{if or .Mounts ""}}a{{else}}b{{end}}'), 'b');
  });

  it('functions: len, index, printf, join, lower/upper/title, split, pipes, parentheses', () => {
    assert.equal(r('{{len .Config.Env}} {{len .Config.Labels}} {{len .Name}}'), '2 2 4');
    assert.equal(r('{{index .Config.Labels "com.a"}} {{index .Config.Env 1}}'), '1 B=2');
    assert.equal(r('{{index .Config.Labels "zz"}}'), '<no value>');
    assert.equal(r('{{printf "%s has pid %d" .Name .State.Pid}}'), '/web has pid 42');
    assert.equal(r('{{printf "%-8s|%5.2f|%q" "ab" 3.14159 "x"}}'), 'ab      | 3.14|"x"');
    assert.equal(r('{{join .Config.Cmd " "}}'), 'sh -c x');
    assert.equal(r('{{.State.Status | upper}} {{upper "a" | lower}}'), 'RUNNING a');
    assert.equal(r('{{title "hello wide world"}}'), 'Hello Wide World');
    assert.equal(r('{{split "a,b" ","}}'), '[a b]');
    assert.equal(r('{{(index .NetworkSettings.Networks "bridge").IPAddress}}'), '10.88.0.5');
    assert.equal(r('{{$ip := "1.2.3.4"}}{{$ip}}'), '1.2.3.4');
    assert.equal(r('{{/* a comment */}}a  {{- " b " -}}  c'), 'a b c');
  });

  it('json: struct fields in order, map keys sorted, HTML characters escaped as Go does', () => {
    assert.equal(r('{{json .State}}'), '{"Status":"running","Pid":42,"Running":true}');
    assert.equal(r('{{json .Config.Labels}}'), '{"com.a":"1","com.b":"2"}');
    assert.equal(goJson({ b: '<&>', a: null }), '{"a":null,"b":"\\u003c\\u0026\\u003e"}');
    assert.equal(r('{{json .Mounts}}'), '[]');
  });

  it("names the problem in Docker's words", () => {
    assert.throws(() => r('{{range .X}}'), /Template parsing error: template: unexpected EOF/);
    assert.throws(
      () => r('{{nosuch .X}}'),
      /Template parsing error: template: function "nosuch" not defined/,
    );
    assert.throws(() => r('{{end}}'), /unexpected \{\{end\}\}/);
    assert.throws(
      () => r('{{.Name.Foo}}'),
      /Template execution error: template: can't evaluate field Foo in type string/,
    );
  });
});
