import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMount } from './mount-spec.js';

// The reference is Docker's CLI (opts/mount.go) and daemon (volume/mounts/linux_parser.go):
// their keys, defaults (type=volume) and error messages.
describe('--mount', () => {
  it('parses bind, volume and tmpfs mounts with their options', () => {
    assert.deepEqual(parseMount('type=bind,src=/h,dst=/c,readonly,bind-propagation=rslave'), {
      mount: {
        type: 'bind',
        source: '/h',
        destination: '/c',
        readOnly: true,
        requireSource: true,
        propagation: 'rslave',
        viaMount: true,
      },
    });
    assert.deepEqual(parseMount('source=data,target=/d,volume-nocopy'), {
      mount: {
        type: 'volume',
        source: 'data',
        destination: '/d',
        readOnly: false,
        noCopy: true,
        viaMount: true,
      },
    });
    assert.deepEqual(parseMount('type=volume,target=/anon,ro=false'), {
      mount: {
        type: 'volume',
        source: '',
        destination: '/anon',
        readOnly: false,
        anonymous: true,
        viaMount: true,
      },
    });
    assert.deepEqual(parseMount('type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770'), {
      tmpfs: { destination: '/t', options: [`size=${64 * 1024 * 1024}`, 'mode=1770'], viaMount: true },
    });
  });

  it("refuses what Docker refuses, in Docker's words", () => {
    const refused: [string, RegExp][] = [
      ['type=bind,/h', /invalid field '\/h' must be a key=value pair/],
      ['type=bind,src=/h,dst=/c,colour=red', /unexpected key 'colour' in 'colour=red'/],
      ['type=bind,src=/h,dst=/c,volume-nocopy', /cannot mix 'volume-\*' options with mount type 'bind'/],
      ['type=volume,dst=/c,tmpfs-size=1m', /cannot mix 'tmpfs-\*' options with mount type 'volume'/],
      ['type=bind,dst=/c', /invalid mount config for type "bind": field Source must not be empty/],
      ['type=bind,src=rel,dst=/c', /invalid mount path: 'rel' mount path must be absolute/],
      [
        'type=tmpfs,src=x,dst=/c',
        /invalid mount config for type "tmpfs": field Source must not be specified/,
      ],
      ['type=bind,src=/h', /field Target must not be empty/],
      ['type=nfs,dst=/c', /invalid mount type "nfs"/],
      ['type=bind,src=/h,dst=/c,readonly=maybe', /invalid value for readonly: maybe/],
    ];
    for (const [spec, re] of refused) assert.throws(() => parseMount(spec), re, spec);
  });
});
