/** Vitest global setup: runs once, before any test file loads (its environment reaches the workers). */
import { detectLocalServices } from './local-services.js';

export default async function setup(): Promise<void> {
  // The AWS SDK warns once per process (each test worker) that it will drop Node 20 in 2027.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.stdout.write(`${await detectLocalServices(process.env)}\n`);
}
