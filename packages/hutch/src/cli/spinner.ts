/**
 * A progress spinner on stderr for long work (create, snapshot), shown only when stderr is a TTY so
 * pipes and logs stay clean.
 */

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const FRAME_MS = 80;

/** Runs `work` while a spinner labelled `label` turns; the line is cleared when it settles. */
export async function withSpinner<T>(label: string, work: () => Promise<T>): Promise<T> {
  const stderr = process.stderr;
  if (!stderr.isTTY) return work();
  const startedAt = Date.now();
  let frame = 0;
  const draw = () => {
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    stderr.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${label} ${seconds}s`);
  };
  draw();
  const timer = setInterval(draw, FRAME_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    stderr.write('\r\x1b[2K');
  }
}
