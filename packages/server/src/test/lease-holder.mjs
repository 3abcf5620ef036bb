/**
 * A Loam process that takes a job and an event delivery and holds them forever, for the takeover
 * test (platform/liveness.test.ts), which kills it with SIGKILL. It runs the built server
 * (`npm run build` first), which starts in a fraction of the time a TypeScript loader takes.
 *   LEASE_HOLDER_DIR=<data dir> LEASE_HOLDER_DB=<postgres url or ''> node lease-holder.mjs
 * Prints `holding <job id>` once both are held.
 */
import { createLoam } from '../../dist/app.js';
import { loadConfig } from '../../dist/config.js';

const loam = await createLoam(
  loadConfig(
    {},
    {
      dataDir: process.env.LEASE_HOLDER_DIR,
      databaseUrl: process.env.LEASE_HOLDER_DB ?? '',
      logLevel: process.env.LEASE_HOLDER_LOG ?? 'silent',
      jobLeaseMs: 30_000,
      jobPollMs: 20,
      relayPollMs: 20,
    },
  ),
);
await loam.migrate();
const { platform } = loam;
let job = '';
let event = false;
const report = () => {
  if (job && event) process.stdout.write(`holding ${job}\n`);
};
platform.jobs.register('test.hold', async ({ job: j }) => {
  job = j.id;
  report();
  await new Promise(() => {});
});
platform.events.subscribe('test.hold', async () => {
  event = true;
  report();
  await new Promise(() => {});
});
await platform.transaction(async (tx) => {
  await platform.jobs.enqueue(tx, 'test.hold', {});
  await platform.events.emit(tx, 'test.held', 'test/1', {}, { tenantId: 'default' });
});
loam.startBackground({ workers: 1, relay: true });
// Timers of the queue and relay do not keep a process alive: this does, until the test kills it.
setInterval(() => {}, 1 << 30);
