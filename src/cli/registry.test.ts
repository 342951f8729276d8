import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { commandName, registerCommands, registerCommandsFor } from './registry.js';

/** A program with global options shaped like berth's (src/cli/main.ts). */
function program(): Command {
  return new Command('berth')
    .version('0.0.0', '-v, --version')
    .option('--root <dir>')
    .option('--log-level <level>')
    .enablePositionalOptions();
}

const flagsOf = (cmd: Command): string[] => cmd.options.map((o) => o.flags);

describe('commandName', () => {
  it('skips global options and their values, in both forms', () => {
    const p = program();
    assert.equal(commandName(p, ['run', '--rm', 'img']), 'run');
    assert.equal(commandName(p, ['--root', '/r', '--log-level=debug', 'ps', '-a']), 'ps');
    assert.equal(commandName(p, ['--root', 'run', 'ps']), 'ps');
  });

  it('finds none for help, the version, an unknown option or no command', () => {
    const p = program();
    for (const argv of [
      [],
      ['--version'],
      ['-v', 'ps'],
      ['-h'],
      ['--help'],
      ['--bogus', 'run'],
      ['--root', '/r'],
    ])
      assert.equal(commandName(p, argv), undefined, argv.join(' '));
  });
});

describe('registerCommandsFor', () => {
  const full = program();
  registerCommands(full);

  it('declares every command, and each alias, exactly as the whole tree does', () => {
    for (const cmd of full.commands) {
      for (const name of [cmd.name(), ...cmd.aliases()]) {
        const part = program();
        registerCommandsFor(part, name);
        const found = part.commands.find((c) => c.name() === cmd.name());
        assert.ok(found, `${name} is registered`);
        assert.deepEqual(flagsOf(found), flagsOf(cmd), `${name} has the same options`);
        assert.deepEqual(
          found.commands.map((c) => c.name()),
          cmd.commands.map((c) => c.name()),
          `${name} has the same subcommands`,
        );
      }
    }
  });

  it('stops at the group that has the command', () => {
    const part = program();
    registerCommandsFor(part, 'run');
    assert.ok(part.commands.length < full.commands.length);
  });

  it('declares only the container command named, without the copies under `container`', () => {
    for (const name of ['run', 'ls']) {
      const part = program();
      registerCommandsFor(part, name);
      assert.deepEqual(
        part.commands.map((c) => c.name()),
        [name === 'ls' ? 'ps' : name],
      );
    }
  });

  it('declares everything for an unknown or missing name, so help and suggestions see it all', () => {
    for (const name of ['rnu', undefined]) {
      const part = program();
      registerCommandsFor(part, name);
      assert.deepEqual(
        part.commands.map((c) => c.name()),
        full.commands.map((c) => c.name()),
      );
    }
  });
});
