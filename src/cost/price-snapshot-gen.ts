/**
 * Build step (`npm run build:tables`): writes the price snapshot next to the compiled pricer
 * (dist/src/cost/price-snapshot.txt; price-snapshot.ts says what it is and when it is used).
 */
import { writeFileSync } from 'node:fs';
import { buildPriceSnapshot } from './price-snapshot-build.js';
import { serializeSnapshot, SNAPSHOT_FILE } from './price-snapshot.js';

const snap = buildPriceSnapshot();
if (snap === null) {
  process.stderr.write('price snapshot: @pydantic/genai-prices not readable; pricing will load the package\n');
} else {
  writeFileSync(new URL(`./${SNAPSHOT_FILE}`, import.meta.url), serializeSnapshot(snap));
}
