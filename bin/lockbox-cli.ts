#!/usr/bin/env node
import { run } from '../cli/main';

/** `lockbox` — the command line (cli/main.ts; docs/cli.md). */
run(process.argv).then((code) => {
  process.exitCode = code;
});
