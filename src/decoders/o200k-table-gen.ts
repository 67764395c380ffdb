/**
 * Build step (`npm run build`): writes the o200k_base rank table next to the compiled
 * o200k-table.js (dist/src/decoders/o200k-ranks.bin), so that token counting starts with one file
 * read instead of compiling gpt-tokenizer's 2.4 MB vocabulary module (see o200k-table.ts).
 */
import { writeFileSync } from 'node:fs';
import { buildTableBytes, libraryRanks, ranksTag, TABLE_FILE } from './o200k-table.js';

const path = new URL(`./${TABLE_FILE}`, import.meta.url);
const bytes = buildTableBytes(libraryRanks(), ranksTag());
writeFileSync(path, bytes);
