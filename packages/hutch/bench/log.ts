/** Progress on stderr (stdout carries only the result table). */
export interface BenchLog {
  /** A step of the run: `[bench 12.3s] message`. */
  step(message: string): void;
  /** Detail lines (template builds...), shown only with --verbose. */
  detail(message: string): void;
}

export function createLog(verbose: boolean): BenchLog {
  const t0 = Date.now();
  const stamp = () => `[bench ${((Date.now() - t0) / 1000).toFixed(1)}s]`;
  return {
    step: (message) => void process.stderr.write(`${stamp()} ${message}\n`),
    detail: (message) => {
      if (verbose) process.stderr.write(`${stamp()}   ${message}\n`);
    },
  };
}
