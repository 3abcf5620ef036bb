/** Every client command group, in the order `loam --help` lists them. Loaded only for client commands. */
import type { Command } from 'commander';
import type { ClientIO } from '../client.js';
import { authCommands } from './auth.js';
import { busCommand } from './bus.js';
import { contentCommand } from './content.js';
import { eventsCommand, webhooksCommand } from './events.js';
import { datasetsCommand } from './datasets.js';
import { docsCommand } from './docs.js';
import { ingestCommand } from './ingest.js';
import { keysCommand } from './keys.js';
import { llmCommand } from './llm.js';
import { piiCommand } from './pii.js';
import { promptsCommand } from './prompts.js';
import { recordsCommand } from './records.js';
import { observeCommands } from './observe.js';
import { tenantsCommand } from './tenants.js';

export function clientCommands(io: ClientIO): Command[] {
  return [
    ...authCommands(io),
    keysCommand(io),
    ingestCommand(io),
    contentCommand(io),
    promptsCommand(io),
    llmCommand(io),
    docsCommand(io),
    datasetsCommand(io),
    recordsCommand(io),
    piiCommand(io),
    busCommand(io),
    ...observeCommands(io),
    eventsCommand(io),
    webhooksCommand(io),
    tenantsCommand(io),
  ];
}
