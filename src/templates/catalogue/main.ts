/**
 * `npm run messages`: writes docs/messages.md, the catalogue of every message the gateway can
 * send (see catalogue.ts). Deterministic: the same templates always give the same file.
 */
import { writeFileSync } from 'fs';
import { join } from 'path';
import { buildCatalogue, catalogueMarkdown } from './catalogue';

export const MESSAGES_MD = join(__dirname, '..', '..', '..', 'docs', 'messages.md');

if (require.main === module) {
  const entries = buildCatalogue();
  writeFileSync(MESSAGES_MD, catalogueMarkdown(entries));
  process.stdout.write(`${MESSAGES_MD}: ${entries.length} messages\n`);
}
