/**
 * Build output a person can follow, in the shape of BuildKit's plain progress: each step is
 * `#N [stage i/n] INSTRUCTION`, its output lines prefixed `#N`, then `#N CACHED` or
 * `#N DONE 1.2s`. Steps of stages built in parallel interleave by line, never mid-line.
 * Output goes to the stream the front end gives (the CLI's stderr, later the Docker API's
 * response), never to this process's stdio.
 */
import { Writable } from 'node:stream';

export class BuildProgress {
  private next = 1;

  constructor(private readonly out: Writable) {}

  /** Announces a step and returns its handle. */
  step(title: string): StepProgress {
    const n = this.next++;
    this.out.write(`#${n} ${title}\n`);
    return new StepProgress(n, this.out);
  }

  line(text: string): void {
    this.out.write(`${text}\n`);
  }
}

export class StepProgress {
  private readonly started = process.hrtime.bigint();

  constructor(
    readonly n: number,
    private readonly out: Writable,
  ) {}

  log(text: string): void {
    this.out.write(`#${this.n} ${text}\n`);
  }

  cached(): void {
    this.out.write(`#${this.n} CACHED\n`);
  }

  done(): void {
    this.out.write(`#${this.n} DONE ${this.seconds()}s\n`);
  }

  error(message: string): void {
    this.out.write(`#${this.n} ERROR: ${message}\n`);
  }

  /** Seconds since the step began, with one decimal, as BuildKit prints them. */
  seconds(): string {
    return (Number(process.hrtime.bigint() - this.started) / 1e9).toFixed(1);
  }

  /** A stream for a RUN step's output: whole lines, each prefixed with the step and its time. */
  output(): Writable {
    let pending = '';
    const emit = (line: string) => this.out.write(`#${this.n} ${this.seconds()} ${line}\n`);
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const l of lines) emit(l);
        cb();
      },
      final: (cb) => {
        if (pending !== '') emit(pending);
        pending = '';
        cb();
      },
    });
  }
}
