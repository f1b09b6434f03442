/**
 * Runs the real `hutch serve` command as a child process for end-to-end tests: port 0 on
 * 127.0.0.1, a given data directory and API key, an environment without the caller's HUTCH_*
 * variables. Resolves with the URL it prints once listening; `stop()` sends SIGTERM and waits.
 */
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HUTCH_MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export interface ServeOptions {
  dataDir: string;
  apiKey: string;
  /** `--backend` value; undefined: the default (process tier). */
  backend?: string;
  /** Added to the environment (after HUTCH_* of this process are removed). */
  env?: Record<string, string>;
}

export interface ServeProcess {
  apiUrl: string;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** This process's environment without HUTCH_* variables. */
export function envWithoutHutch(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter(([k, v]) => !k.startsWith('HUTCH_') && v !== undefined)) as Record<string, string>;
}

export async function startServe(options: ServeOptions): Promise<ServeProcess> {
  const args = [HUTCH_MAIN, 'serve', '--port', '0', '--data-dir', options.dataDir, ...(options.backend ? ['--backend', options.backend] : [])];
  const child = spawn(process.execPath, args, { env: { ...envWithoutHutch(), ...options.env, HUTCH_API_KEY: options.apiKey }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const stop = async () => {
    child.kill('SIGTERM');
    return exited;
  };
  try {
    const apiUrl = await new Promise<string>((done, fail) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match) done(match[1]!);
      });
      child.once('close', (code) => fail(new Error(`serve exited (${code}) before listening: ${out} ${stderr}`)));
    });
    return { apiUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
