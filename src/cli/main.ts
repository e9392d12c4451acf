#!/usr/bin/env node
// The CLI with every command (dist/bundle/cli.cjs); purge-main.ts is the same CLI with only `purge`.
import { COMMANDS } from './command-table.js';
import { runCli } from './program.js';

runCli(COMMANDS);
