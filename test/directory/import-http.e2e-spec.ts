import { Global, type INestApplication, Module } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { SecretBox } from '../../src/common/crypto/secret-box';
import { SECRET_BOX } from '../../src/common/crypto/secret-box.token';
import { HttpExceptionFilter } from '../../src/common/errors/http-exception.filter';
import { buildDataSourceOptions, runMigrations } from '../../src/database/data-source';
import { ROLES_KEY } from '../../src/common/auth/auth.decorators';
import { ImportCommand } from '../../src/modules/directory/import/import.command';
import { ImportController } from '../../src/modules/directory/import/import.controller';
import { ImportModule } from '../../src/modules/directory/import/import.module';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { fixturePath, readFixture, TEST_APP_SECRET } from '../fixtures/import/harness';
import { AuditModule } from '../../src/modules/audit/audit.module';

/** What the app supplies globally: the SecretBox under its token. */
@Global()
@Module({
  providers: [{ provide: SECRET_BOX, useValue: new SecretBox(TEST_APP_SECRET) }],
  exports: [SECRET_BOX],
})
class TestSecretsModule {}

/** Runs a command with stdout/stderr captured, restoring the exit code afterwards. */
async function capture(run: () => Promise<void>) {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  const previous = process.exitCode;
  try {
    await run();
    return { stdout, stderr, exitCode: process.exitCode };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = previous;
  }
}

describe('directory imports over HTTP and the CLI', () => {
  let db: TestDatabase;
  let app: INestApplication;

  beforeAll(async () => {
    db = await createTestDatabase('import_http');
    const ds = new DataSource(buildDataSourceOptions(db.url));
    await ds.initialize();
    await runMigrations(ds);
    await ds.destroy();

    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot(buildDataSourceOptions(db.url)),
        TestSecretsModule,
        AuditModule,
        ImportModule,
      ],
    }).compile();
    const express = moduleRef.createNestApplication<NestExpressApplication>({
      bodyParser: false,
      logger: false,
    });
    // As the app setup does: raw text bodies for CSV and JSON lines.
    express.useBodyParser('json');
    express.useBodyParser('text', {
      type: ['text/csv', 'text/plain', 'application/x-ndjson'],
      limit: '200mb',
    });
    express.useGlobalFilters(new HttpExceptionFilter());
    app = await express.init();
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('is for admins only', () => {
    const roles = new Reflector().get(ROLES_KEY, ImportController.prototype.import);
    expect(roles).toEqual(['admin']);
  });

  it('imports a CSV body and answers 200 with the counts', async () => {
    const res = await request(app.getHttpServer())
      .post('/v1/directory/imports/divisions')
      .set('Content-Type', 'text/csv; charset=utf-8')
      .send(readFixture('good/divisions.csv'))
      .expect(200);
    expect(res.body).toEqual({ kind: 'divisions', rows: 8, inserted: 8, updated: 0, unchanged: 0 });
  });

  it('imports JSON lines', async () => {
    await request(app.getHttpServer())
      .post('/v1/directory/imports/grids')
      .set('Content-Type', 'text/csv')
      .send(readFixture('good/grids.csv'))
      .expect(200);
    const res = await request(app.getHttpServer())
      .post('/v1/directory/imports/people')
      .set('Content-Type', 'application/x-ndjson')
      .send(readFixture('good/residents.jsonl'))
      .expect(200);
    expect(res.body).toMatchObject({ kind: 'people', rows: 3, inserted: 3 });
  });

  it('answers 422 with every bad row of a refused file', async () => {
    const res = await request(app.getHttpServer())
      .post('/v1/directory/imports/grids')
      .set('Content-Type', 'text/csv')
      .send(readFixture('bad/grids.csv'))
      .expect(422);
    expect(res.body.error).toMatchObject({
      code: 'IMPORT_REJECTED',
      message: '导入文件有误，未写入任何数据',
      messageEn: 'Import file rejected; nothing was written',
      total: 6,
      badRows: 5,
    });
    expect(
      res.body.error.rows.map((p: { row: number; field: string }) => [p.row, p.field]),
    ).toEqual([
      [2, 'code'],
      [3, 'village'],
      [4, 'code'],
      [4, 'village'],
      [5, 'code'],
      [6, 'name'],
    ]);
  });

  it('answers 400 naming kind for an unknown kind', async () => {
    const res = await request(app.getHttpServer())
      .post('/v1/directory/imports/hospitals')
      .set('Content-Type', 'text/csv')
      .send('code,name\n1,x\n')
      .expect(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.fields).toEqual([expect.objectContaining({ field: 'kind' })]);
  });

  it('answers 400 naming content-type for a body that is not CSV or JSON lines', async () => {
    const res = await request(app.getHttpServer())
      .post('/v1/directory/imports/grids')
      .set('Content-Type', 'application/json')
      .send({ code: 'x' })
      .expect(400);
    expect(res.body.error.fields).toEqual([expect.objectContaining({ field: 'content-type' })]);
  });

  it('takes the format from ?format= when the Content-Type is plain text', async () => {
    const res = await request(app.getHttpServer())
      .post('/v1/directory/imports/people?format=jsonl')
      .set('Content-Type', 'text/plain')
      .send(readFixture('good/residents.jsonl'))
      .expect(200);
    expect(res.body).toMatchObject({ kind: 'people', rows: 3, inserted: 0, unchanged: 3 });
    const bad = await request(app.getHttpServer())
      .post('/v1/directory/imports/people?format=xlsx')
      .set('Content-Type', 'text/plain')
      .send('x')
      .expect(400);
    expect(bad.body.error.fields).toEqual([expect.objectContaining({ field: 'format' })]);
  });

  describe('import command', () => {
    it('imports a file and prints the result', async () => {
      const command = app.get(ImportCommand);
      const { stdout, exitCode } = await capture(() =>
        command.run(['broadcast-terminals', fixturePath('good/broadcast-terminals.csv')]),
      );
      expect(stdout).toBe('broadcast-terminals: 3 rows — 3 inserted, 0 updated, 0 unchanged\n');
      expect(exitCode).toBeFalsy();
    });

    it('reads .jsonl files as JSON lines', async () => {
      const command = app.get(ImportCommand);
      const { stdout } = await capture(() =>
        command.run(['people', fixturePath('good/residents.jsonl')]),
      );
      expect(stdout).toBe('people: 3 rows — 0 inserted, 0 updated, 3 unchanged\n');
    });

    it('lists each bad row and exits non-zero for a refused file', async () => {
      const command = app.get(ImportCommand);
      const { stdout, stderr, exitCode } = await capture(() =>
        command.run(['broadcast-terminals', fixturePath('bad/broadcast-terminals.csv')]),
      );
      expect(exitCode).toBe(1);
      expect(stdout).toBe('');
      const lines = stderr.trim().split('\n');
      expect(lines[0]).toContain('Import file rejected; nothing was written (3 problems, 4 rows)');
      expect(lines.slice(1).map((l) => l.trim().split(/\s+/).slice(0, 3))).toEqual([
        ['row', '2', 'division'],
        ['row', '3', 'code'],
        ['row', '4', 'code'],
      ]);
    });

    it('refuses an unknown kind or a missing file', async () => {
      const command = app.get(ImportCommand);
      const kind = await capture(() => command.run(['hospitals', fixturePath('good/grids.csv')]));
      expect(kind.exitCode).toBe(2);
      expect(kind.stderr).toContain('Unknown kind "hospitals"');
      const file = await capture(() => command.run(['grids', fixturePath('good/nope.csv')]));
      expect(file.exitCode).toBe(2);
      expect(file.stderr).toContain('Cannot read');
    });
  });
});
