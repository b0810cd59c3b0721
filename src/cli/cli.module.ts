import { type DynamicModule, Module } from '@nestjs/common';
import { CoreModule } from '../app.module';
import type { GatewayRuntime } from '../common/runtime.token';
import { AuthCliModule } from '../modules/auth/auth.module';
import { DirectoryCliModule } from '../modules/directory/directory.module';
import { MigrationCommands } from './migration.command';

/** Operator commands: tokens, imports, seed, migrations. No HTTP, no queue workers. */
@Module({})
export class CliModule {
  static register(runtime: GatewayRuntime): DynamicModule {
    return {
      module: CliModule,
      imports: [CoreModule.register(runtime, { queues: false }), AuthCliModule, DirectoryCliModule],
      providers: [...MigrationCommands],
    };
  }
}
