import { readFile } from 'node:fs/promises';
import { Presets, SingleBar } from 'cli-progress';
import { Command, CommandRunner } from 'nest-commander';
import { formatOfFile } from './import-parser';
import { rejectedProblems } from './import-rejected';
import { ImportService } from './import.service';
import { IMPORT_KINDS, type ImportProblem, isImportKind } from './import.types';

export function formatProblem(p: ImportProblem): string {
  const row = p.row === undefined ? 'file' : `row ${p.row}`;
  return `  ${row.padEnd(10)} ${p.field.padEnd(14)} ${p.message} | ${p.messageEn}`;
}

/**
 * `import <kind> <file>`: CSV (with a header row) or .jsonl/.ndjson. Progress goes to stderr, the
 * result to stdout. A refused file lists each bad row and exits with status 1.
 */
@Command({
  name: 'import',
  arguments: '<kind> <file>',
  description: `Import a roster file into the directory; kind is one of ${IMPORT_KINDS.join(', ')}`,
})
export class ImportCommand extends CommandRunner {
  constructor(private readonly imports: ImportService) {
    super();
  }

  async run([kind, file]: string[]): Promise<void> {
    if (!isImportKind(kind)) {
      process.stderr.write(`Unknown kind "${kind}"; use one of ${IMPORT_KINDS.join(', ')}\n`);
      process.exitCode = 2;
      return;
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      process.stderr.write(`Cannot read ${file}: ${(err as Error).message}\n`);
      process.exitCode = 2;
      return;
    }

    const bar = new SingleBar(
      {
        stream: process.stderr,
        format: `${kind} [{bar}] {percentage}% | {value}/{total} rows | {duration_formatted}`,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    let started = false;
    try {
      const result = await this.imports.importText(kind, text, formatOfFile(file), {
        onProgress: (done, total) => {
          if (!started) {
            bar.start(total, 0);
            started = true;
          }
          bar.update(done);
        },
      });
      bar.stop();
      process.stdout.write(
        `${result.kind}: ${result.rows} rows — ${result.inserted} inserted, ` +
          `${result.updated} updated, ${result.unchanged} unchanged\n`,
      );
    } catch (err) {
      bar.stop();
      const problems = rejectedProblems(err);
      if (!problems) throw err;
      const details =
        (err as { details?: { total?: number; problemCount?: number } }).details ?? {};
      process.stderr.write(
        `导入文件有误，未写入任何数据 / Import file rejected; nothing was written ` +
          `(${details.problemCount ?? problems.length} problems, ${details.total ?? 0} rows)\n`,
      );
      for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
      if ((details.problemCount ?? 0) > problems.length) {
        process.stderr.write(`  … ${(details.problemCount ?? 0) - problems.length} more\n`);
      }
      process.exitCode = 1;
    }
  }
}
