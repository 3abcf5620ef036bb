#!/usr/bin/env node
// The `loam` bin and what `npm start` runs. It is a source file, not build output, so that npm
// links the bin at install time, before `prepare` builds the bundle (npm skips bins whose file is
// missing). The bundle: scripts/bundle.mjs.
await import('../dist/loam.mjs');
