import { Command, CommandRunner } from 'nest-commander';
import { DataSource } from 'typeorm';

/** Migrations already run before any command (see cli/main.ts); this one reports the state. */
@Command({ name: 'migration:run', description: 'Apply pending database migrations' })
export class MigrationRunCommand extends CommandRunner {
  constructor(private readonly db: DataSource) {
    super();
  }

  async run(): Promise<void> {
    const executed = await this.db.query<{ name: string }[]>(
      'SELECT name FROM migrations ORDER BY id',
    );
    process.stdout.write(
      `Database is up to date (${executed.length} migrations applied: ${executed.map((m) => m.name).join(', ')})\n`,
    );
  }
}

@Command({ name: 'migration:revert', description: 'Revert the most recent migration' })
export class MigrationRevertCommand extends CommandRunner {
  constructor(private readonly db: DataSource) {
    super();
  }

  async run(): Promise<void> {
    await this.db.undoLastMigration({ transaction: 'each' });
    process.stdout.write('Reverted the last migration\n');
  }
}

export const MigrationCommands = [MigrationRunCommand, MigrationRevertCommand];
