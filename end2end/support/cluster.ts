// Starts `scripts/cluster.sh` (nodes on one PostgreSQL behind nginx) on a free port and reads what it prints.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { FirstStart, field, freePort } from './tether-server';

export interface RunningCluster extends FirstStart {
  /** Each node's own base URL, bypassing nginx. */
  nodes: string[];
  /** The temporary folder the script made, which stopping removes. */
  workDir: string;
  stop(): Promise<void>;
}

export async function startCluster(nodeCount = 3): Promise<RunningCluster> {
  const port = await freePort();
  const child = spawn('bash', [join(__dirname, '..', '..', 'scripts', 'cluster.sh')], {
    env: {
      ...process.env,
      // The script runs from the repository's root: relative paths would point elsewhere.
      TETHER_BIN: resolve(process.env.TETHER_BIN ?? ''),
      TETHER_SITE_ROOT: resolve(process.env.TETHER_SITE_ROOT ?? ''),
      CLUSTER_PORT: String(port),
      CLUSTER_NODES: String(nodeCount),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      output += chunk;
      if (output.includes('[cluster] ready:')) resolve();
    });
    exited.then((code) => reject(new Error(`cluster.sh exited with ${code} before it was ready:\n${output}`)));
  });
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`the cluster was not ready within 90 s:\n${output}`)), 90_000).unref(),
  );
  await Promise.race([ready, timeout]);
  const nodes = [...output.matchAll(/\[cluster\] node \d+ on (127\.0\.0\.1:\d+)/g)].map((match) => `http://${match[1]}`);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    nodes,
    workDir: output.match(/\(log: (\/tmp\/tether-cluster-[^/]+)\//)![1],
    email: field(output, 'email'),
    password: field(output, 'password'),
    organizationSecret: field(output, 'organization secret'),
    userSecret: field(output, 'user secret'),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
