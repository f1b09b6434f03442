/**
 * The README's SDK example, verbatim between the markers, wrapped in a function so the end-to-end
 * suite can run it against a test server (it reads HUTCH_API_URL / HUTCH_API_KEY like any user).
 */
import { Sandbox } from '@hutch/sdk';

export async function readmeExample(): Promise<void> {
  // --- README example start ---
  const sandbox = await Sandbox.create({ timeoutMs: 60_000 }); // server from HUTCH_API_URL, key from HUTCH_API_KEY
  await sandbox.files.write('/tmp/hello.txt', 'hello from the host\n');
  const result = await sandbox.commands.run('cat /tmp/hello.txt && echo done');
  console.log(result.stdout, result.exitCode); // "hello from the host\ndone\n" 0
  for await (const frame of sandbox.commands.stream('echo streamed')) {
    if (frame.type === 'output') console.log(new TextDecoder().decode(frame.data)); // "streamed\n"
    if (frame.type === 'exit') console.log('exit', frame.exitCode); // exit 0
  }
  await sandbox.destroy();
  // --- README example end ---
}
