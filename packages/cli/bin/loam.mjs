#!/usr/bin/env node
// The `loam` bin and what `npm start` runs. It is a source file, not build output, so that npm
// links the bin at install time, before `prepare` builds the bundle (npm skips bins whose file is
// missing). The bundle: scripts/bundle.mjs.

// Under `npm start`, Loam's parent is the shell npm runs the script in. npm passes a SIGTERM on to
// that shell, which exits without passing it to Loam; so once the parent is gone, Loam stops as it
// does on SIGTERM (gracefully) instead of running on, orphaned.
if (process.env.npm_lifecycle_event === 'start') {
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGTERM');
  }, 500);
  watch.unref();
}

await import('../dist/loam.mjs');
