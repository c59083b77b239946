/**
 * Tests that run the `ptlab` CLI as a child process (test/lab-cli, test/lab-slurm) give it
 * `toyCliEnv()`: NODE_OPTIONS preloads ./toy-cli-preload, which puts the toy simulator
 * (./toy-simulate, not a model) in place of the real one in that process and in its worker
 * threads (a preload runs in every thread). The CLI itself has no hook for it.
 */
import * as path from 'node:path';

/** The environment of a `ptlab` child process that simulates with the toy. */
export function toyCliEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const preload = `--require ${JSON.stringify(path.join(__dirname, 'toy-cli-preload.js'))}`;
  return { ...env, NODE_OPTIONS: env.NODE_OPTIONS ? `${env.NODE_OPTIONS} ${preload}` : preload };
}
