import { Presets, SingleBar } from 'cli-progress';
import { Command, CommandRunner, Option } from 'nest-commander';
import { SeedService } from './seed.service';

interface SeedCommandOptions {
  county: string;
  residents: number;
  seed?: number;
}

function wholeNumber(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}`);
  return n;
}

/** `seed --county 513221 --residents 100000 [--seed 1]`: a synthetic county, for demos and benchmarks. */
@Command({
  name: 'seed',
  description: 'Generate a synthetic county and import it into the directory',
})
export class SeedCommand extends CommandRunner {
  constructor(private readonly seeds: SeedService) {
    super();
  }

  @Option({
    flags: '--county <code>',
    description: '6-digit GB/T 2260 county code',
    required: true,
  })
  parseCounty(value: string): string {
    if (!/^\d{6}$/.test(value)) throw new Error('--county must be a 6-digit GB/T 2260 county code');
    return value;
  }

  @Option({ flags: '--residents <n>', description: 'number of residents', required: true })
  parseResidents(value: string): number {
    return wholeNumber('residents', value, 0);
  }

  @Option({ flags: '--seed <n>', description: 'same seed, same county (default 1)' })
  parseSeed(value: string): number {
    return wholeNumber('seed', value, 0);
  }

  async run(_args: string[], options: SeedCommandOptions): Promise<void> {
    const bar = new SingleBar(
      {
        stream: process.stderr,
        format:
          'seed [{bar}] {percentage}% | {value}/{total} rows | {duration_formatted} | eta {eta_formatted}',
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    let started = false;
    try {
      const summary = await this.seeds.seedCounty({
        countyCode: options.county,
        residents: options.residents,
        seed: options.seed,
        onProgress: (done, total) => {
          if (!started) {
            bar.start(total, 0);
            started = true;
          }
          bar.update(done);
        },
      });
      bar.stop();
      const c = summary.counts;
      const lines = [
        `${summary.countyName} (${summary.countyCode}), seed ${summary.seed}: ` +
          `${c.townships} townships, ${c.villages} villages, ${c.grids} grids, ${c.officials} officials, ` +
          `${c.residents} residents, ${c.hazardPoints} hazard points, ${c.riskZones} risk zones, ` +
          `${c.robots} robots, ${c.broadcastTerminals} loudspeakers`,
        ...summary.results.map(
          (r) =>
            `  ${r.kind.padEnd(20)} ${String(r.rows).padStart(9)} rows ${String(r.inserted).padStart(9)} inserted ` +
            `${String(r.updated).padStart(9)} updated ${String(r.unchanged).padStart(9)} unchanged`,
        ),
        `done in ${(summary.ms / 1000).toFixed(1)} s`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    } catch (err) {
      bar.stop();
      throw err;
    }
  }
}
