/**
 * Pull and push progress as Docker shows it: on a terminal one line per layer, redrawn in
 * place (state, bytes, rate); piped, one plain line per state change; quiet, nothing.
 */
export interface Progress {
  update(id: string, state: string, current?: number, total?: number): void;
  done(): void;
}

export function silentProgress(): Progress {
  return { update() {}, done() {} };
}

function size(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i ? 1 : 0)}${units[i]}`;
}

export function streamProgress(out: NodeJS.WriteStream): Progress {
  const tty = out.isTTY === true;
  const order: string[] = [];
  const lines = new Map<string, string>();
  const started = new Map<string, number>();
  const lastState = new Map<string, string>();
  let drawn = 0;
  let last = 0;
  const render = (force: boolean) => {
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    if (drawn) out.write(`\x1b[${drawn}A`);
    for (const id of order) out.write(`\x1b[2K${id}: ${lines.get(id)}\n`);
    drawn = order.length;
  };
  return {
    update(id, state, current, total) {
      if (!lines.has(id)) order.push(id);
      if (!tty) {
        if (lastState.get(id) !== state) out.write(`${id}: ${state}\n`);
        lastState.set(id, state);
        lines.set(id, state);
        return;
      }
      let text = state;
      if (current !== undefined && total) {
        if (!started.has(id)) started.set(id, Date.now());
        const secs = Math.max(0.001, (Date.now() - started.get(id)!) / 1000);
        const width = 40;
        const filled = Math.min(width, Math.round((current / total) * width));
        text = `${state} [${'='.repeat(Math.max(0, filled - 1))}${filled ? '>' : ''}${' '.repeat(width - filled)}] ${size(current)}/${size(total)} ${size(current / secs)}/s`;
      }
      lines.set(id, text);
      render(current === undefined);
    },
    done() {
      if (tty) render(true);
    },
  };
}
