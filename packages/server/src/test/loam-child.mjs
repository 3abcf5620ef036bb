/**
 * A Loam process for tests that need a real process (kill -9, two processes on one database):
 * configured by LOAM_* variables, it serves no HTTP, runs workers and the relay, prints `ready`,
 * and on `emit <n>` on stdin emits n `prompt.created` events in one transaction, then `emitted`.
 * It runs the built server (`npm run build` first), which starts in a fraction of the time a
 * TypeScript loader takes.
 */
import { createInterface } from 'node:readline';
import { createLoam } from '../../dist/app.js';
import { loadConfig } from '../../dist/config.js';

const loam = await createLoam(loadConfig(process.env, { logLevel: process.env.LOAM_CHILD_LOG ?? 'silent' }));
await loam.migrate();
await loam.bootstrap();
loam.startBackground({ workers: 4, relay: true });
const keepAlive = setInterval(() => {}, 1 << 30);
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, n] = line.trim().split(' ');
  if (cmd === 'emit') {
    await loam.platform.transaction(async (tx) => {
      for (let i = 0; i < Number(n); i++)
        await loam.platform.events.emit(tx, 'prompt.created', `pr_${i}`, { id: `pr_${i}`, name: 'n', version: 1 }, { tenantId: 'default' });
    });
    process.stdout.write('emitted\n');
  }
}
clearInterval(keepAlive);
await loam.close(1000);
