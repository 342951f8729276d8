/**
 * Jobs that one call can do together, gathered while the previous call runs ("group
 * commit"): a job that finds the queue idle starts at once, alone, so a lone job waits for
 * nothing; jobs that come while a call runs wait for it and then go in the next call, all
 * together. Used where each call starts a process whose start costs more than the work of
 * one job (pinning a pod's namespaces: netns.ts).
 */
export class BatchQueue<Job, Result> {
  private waiting: { job: Job; resolve(r: Result): void; reject(e: unknown): void }[] = [];
  private running = false;

  /**
   * @param runBatch does the jobs of one call and returns one result per job, in their order.
   *   Its error fails every job of that call; later calls still run.
   */
  constructor(private readonly runBatch: (jobs: Job[]) => Promise<Result[]>) {}

  /** Queues `job`; resolves with its result once the call that took it has run. */
  add(job: Job): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length) {
        const batch = this.waiting.splice(0);
        try {
          const results = await this.runBatch(batch.map((w) => w.job));
          for (const [i, w] of batch.entries()) w.resolve(results[i] as Result);
        } catch (e) {
          for (const w of batch) w.reject(e);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
