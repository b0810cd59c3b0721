import { BullModule } from '@nestjs/bullmq';
import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { LoggerModule } from 'nestjs-pino';
import { SecretBox } from './common/crypto/secret-box';
import { SECRET_BOX } from './common/crypto/secret-box.token';
import { MetricsController } from './common/observability/metrics.controller';
import { loggerOptions } from './common/observability/logger.options';
import { PublicUrls } from './common/public-urls';
import { ALL_QUEUES } from './common/queue/queue-names';
import { GATEWAY_RUNTIME, type GatewayRuntime } from './common/runtime.token';
import { type EnvironmentVariables, validateEnv } from './config/env.validation';
import {
  ANSWERS_DB,
  buildAnswersDataSourceOptions,
  buildDataSourceOptions,
} from './database/data-source';
import { ConsoleModule } from './modules/console/console.module';
import { AuditModule } from './modules/audit/audit.module';
import { AuthModule } from './modules/auth/auth.module';
import { DirectoryModule } from './modules/directory/directory.module';
import { DispatchApiModule } from './modules/dispatch/dispatch.module';
import { DispatchWorkersModule } from './modules/dispatch/dispatch-workers.module';
import { RecoveryModule } from './modules/recovery/recovery.module';
import { ReportsModule } from './modules/reports/reports.module';
import { EscalationModule } from './modules/escalation/escalation.module';
import { HealthModule } from './modules/health/health.module';
import { HazardReportsModule } from './modules/hazard-reports/hazard-reports.module';
import { HazardReportsWorkersModule } from './modules/hazard-reports/hazard-reports-workers.module';
import { ResponsesModule } from './modules/responses/responses.module';
import { ResponsesWorkersModule } from './modules/responses/inbound-spool.worker';
import { TasksApiModule } from './modules/tasks/tasks-api.module';
import { WarningsModule } from './modules/warnings/warnings.module';
import { RostersModule } from './modules/rosters/rosters.module';
import { bullConnectionOptions } from './runtime/queue-backend';

type Env = ConfigService<EnvironmentVariables, true>;

/** Configuration, logging, database, queues and shared providers: what every role needs. */
@Global()
@Module({})
export class CoreModule {
  static register(
    runtime: GatewayRuntime,
    opts: { queues: boolean } = { queues: true },
  ): DynamicModule {
    return {
      module: CoreModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, validate: validateEnv, cache: true }),
        LoggerModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: Env) => loggerOptions(config.get('LOG_LEVEL')),
        }),
        TypeOrmModule.forRoot(buildDataSourceOptions(runtime.databaseUrl)),
        TypeOrmModule.forRootAsync({
          name: ANSWERS_DB,
          inject: [ConfigService],
          useFactory: (config: Env) =>
            buildAnswersDataSourceOptions(runtime.databaseUrl, config.get('ANSWERS_DB_POOL')),
        }),
        AuditModule,
        ...(opts.queues
          ? [
              BullModule.forRootAsync({
                inject: [ConfigService],
                useFactory: (config: Env) => ({
                  connection: bullConnectionOptions(runtime.queue),
                  prefix: config.get('QUEUE_PREFIX'),
                }),
              }),
              BullModule.registerQueue(...ALL_QUEUES.map((name) => ({ name }))),
            ]
          : []),
      ],
      providers: [
        { provide: GATEWAY_RUNTIME, useValue: runtime },
        PublicUrls,
        {
          provide: SECRET_BOX,
          inject: [ConfigService],
          useFactory: (config: Env) => new SecretBox(config.get('APP_SECRET')),
        },
      ],
      exports: [GATEWAY_RUNTIME, SECRET_BOX, PublicUrls, ...(opts.queues ? [BullModule] : [])],
    };
  }
}

/** Feature modules that serve HTTP (role api). */
const API_MODULES = [
  AuthModule,
  HealthModule,
  DirectoryModule,
  WarningsModule,
  ResponsesModule,
  TasksApiModule,
  EscalationModule,
  ReportsModule,
  ConsoleModule,
  DispatchApiModule,
  RostersModule,
  HazardReportsModule,
];
/** Modules that hold queue processors (role worker). */
const WORKER_MODULES = [
  DispatchWorkersModule,
  RecoveryModule,
  HazardReportsWorkersModule,
  ResponsesWorkersModule,
];

/**
 * One codebase, two roles: ROLE=api serves HTTP, ROLE=worker runs queue processors, and the
 * default (all) does both in one process.
 */
@Module({})
export class AppModule {
  static register(runtime: GatewayRuntime): DynamicModule {
    // One app per process owns the default metrics registry (tests start several in one process).
    register.clear();
    const serveHttp = runtime.role !== 'worker';
    const runWorkers = runtime.role !== 'api';
    return {
      module: AppModule,
      imports: [
        CoreModule.register(runtime),
        ...(serveHttp
          ? [
              PrometheusModule.register({ path: '/metrics', controller: MetricsController }),
              ...API_MODULES,
            ]
          : []),
        ...(runWorkers ? WORKER_MODULES : []),
      ],
    };
  }
}
