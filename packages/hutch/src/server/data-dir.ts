/**
 * The default data directory: `$HUTCH_DATA_DIR`, else `/var/lib/hutch` when running as root (the
 * sandbox id range must be able to traverse every parent of template roots and sandbox dirs, and
 * `/root` is 0700), else `~/.hutch`. Kept free of server dependencies so the CLI can use it cheaply.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.HUTCH_DATA_DIR ?? (process.getuid?.() === 0 ? '/var/lib/hutch' : join(homedir(), '.hutch')));
}
