// Starts a test server that prints `<READY> <its URL>` as its first line, and stops it with SIGTERM.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ReadyProcess {
  url: string;
  stop(): Promise<void>;
}

export async function startReadyProcess(
  command: string,
  args: string[],
  ready: string,
  env: Record<string, string> = {},
): Promise<ReadyProcess> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once('line', (line) => {
      const match = line.match(new RegExp(`^${ready} (\\S+)$`));
      if (match) resolve(match[1]);
      else reject(new Error(`unexpected output of ${args.join(' ')}: ${line}`));
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  // Keep reading: a closed pipe would stop the server.
  lines.on('line', () => {});
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
