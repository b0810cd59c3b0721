import { Command, CommandRunner, Option } from 'nest-commander';
import { AppException } from '../../common/errors/app.exception';
import { assertRole, TokensService } from './tokens.service';

interface CreateOptions {
  role: string;
  jurisdiction?: string;
  grid?: string;
  name?: string;
}

/** `tokens:create --role <role> [--jurisdiction <code>] [--grid <code>]`: the token is the last line. */
@Command({
  name: 'tokens:create',
  description: 'Create an API token; prints it alone on the last line',
})
export class CreateTokenCommand extends CommandRunner {
  constructor(private readonly tokens: TokensService) {
    super();
  }

  async run(_: string[], options: CreateOptions): Promise<void> {
    try {
      assertRole(options.role);
      const { token, record } = await this.tokens.create({
        name: options.name ?? `${options.role} token`,
        role: options.role,
        jurisdiction: options.jurisdiction,
        gridCode: options.grid,
      });
      const scope = record.jurisdiction ?? record.gridCode ?? 'all';
      process.stdout.write(
        `Created ${record.role} token ${record.id} (scope: ${scope}). It is shown only once:\n${token}\n`,
      );
    } catch (err) {
      fail(err);
    }
  }

  @Option({
    flags: '--role <role>',
    description: 'admin | duty_officer | auditor | grid_member',
    required: true,
  })
  parseRole(v: string) {
    return v;
  }

  @Option({ flags: '--jurisdiction <code>', description: 'duty_officer: division code prefix' })
  parseJurisdiction(v: string) {
    return v;
  }

  @Option({ flags: '--grid <code>', description: 'grid_member: grid code' })
  parseGrid(v: string) {
    return v;
  }

  @Option({ flags: '--name <name>', description: 'who or what holds the token' })
  parseName(v: string) {
    return v;
  }
}

@Command({ name: 'tokens:revoke', arguments: '<id>', description: 'Revoke an API token by id' })
export class RevokeTokenCommand extends CommandRunner {
  constructor(private readonly tokens: TokensService) {
    super();
  }

  async run([id]: string[]): Promise<void> {
    try {
      const record = await this.tokens.revoke(id);
      process.stdout.write(`Revoked token ${record.id} (${record.role}, ${record.name})\n`);
    } catch (err) {
      fail(err);
    }
  }
}

@Command({ name: 'tokens:list', description: 'List API tokens (never the tokens themselves)' })
export class ListTokensCommand extends CommandRunner {
  constructor(private readonly tokens: TokensService) {
    super();
  }

  async run(): Promise<void> {
    for (const t of await this.tokens.list()) {
      const state = t.revokedAt ? `revoked ${t.revokedAt.toISOString()}` : 'active';
      process.stdout.write(
        `${t.id}\t${t.role}\t${t.jurisdiction ?? t.gridCode ?? '-'}\t${state}\t${t.name}\n`,
      );
    }
  }
}

/** Reports the error and sets a failing exit code (cleanup still runs: no process.exit). */
function fail(err: unknown): void {
  if (err instanceof AppException) {
    const fields = (err.details?.fields ?? [])
      .map((f) => `  - ${f.field}: ${f.message}`)
      .join('\n');
    process.stderr.write(`${err.messageEn}\n${fields}\n`);
  } else {
    process.stderr.write(`${(err as Error).message}\n`);
  }
  process.exitCode = 1;
}
