/** One word for `sh -c`: single-quoted, with each `'` closed, escaped and reopened. */
export const shellWord = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
