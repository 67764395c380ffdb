/** Every migration, in version order. Append new ones; never edit or reorder released ones. */
import { migration001 } from './001-calls-exchanges.js';
import { migration002 } from './002-turns-alerts-annotations.js';
import { migration003 } from './003-agent-turns.js';
import { migration004 } from './004-costs-alerts-annotations.js';
import { migration005 } from './005-call-process.js';
import { migration006 } from './006-alert-source.js';
import { migration007 } from './007-body-bytes.js';
import { migration008 } from './008-body-packs.js';
import type { Migration } from './types.js';

export type { Migration } from './types.js';

export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003, migration004, migration005, migration006, migration007, migration008];
