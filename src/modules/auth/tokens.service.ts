import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource, In, IsNull } from 'typeorm';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { rows } from '../../database/sql';
import { AuditService } from '../audit/audit.service';
import { divisionLevelOf } from '../../common/domain/directory.types';
import { ApiToken } from './api-token.entity';
import type { Principal } from '../../common/auth/auth.decorators';
import { TOKEN_ROLES, type TokenRole } from '../../common/auth/token-role';

export interface CreateTokenInput {
  name: string;
  role: TokenRole;
  jurisdiction?: string | null;
  gridCode?: string | null;
}

const TOKEN_PREFIX = 'wgt_';
/** last_used_at is refreshed at most this often, so that reads don't turn into writes. */
const LAST_USED_RESOLUTION_MS = 60_000;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

@Injectable()
export class TokensService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  private get repo() {
    return this.db.getRepository(ApiToken);
  }

  /** Creates a token; the clear token is returned once and only its hash is kept. */
  async create(
    input: CreateTokenInput,
    actor = 'system',
  ): Promise<{ token: string; record: ApiToken }> {
    const problems: { field: string; message: string }[] = [];
    if (!input.name?.trim()) problems.push({ field: 'name', message: 'name is required' });
    if (!TOKEN_ROLES.includes(input.role)) {
      problems.push({ field: 'role', message: `role must be one of ${TOKEN_ROLES.join(', ')}` });
    }
    const jurisdiction = input.jurisdiction?.trim() || null;
    const gridCode = input.gridCode?.trim() || null;
    if (input.role === 'duty_officer') {
      if (!jurisdiction) {
        problems.push({
          field: 'jurisdiction',
          message: 'a duty_officer token needs a jurisdiction (division code)',
        });
      } else if (!divisionLevelOf(jurisdiction)) {
        problems.push({
          field: 'jurisdiction',
          message: 'jurisdiction must be a 2, 4, 6, 9 or 12-digit division code',
        });
      } else if (
        !(await this.db.query('SELECT 1 FROM divisions WHERE code = $1', [jurisdiction])).length
      ) {
        problems.push({
          field: 'jurisdiction',
          message: `division ${jurisdiction} is not in the directory`,
        });
      }
    } else if (jurisdiction) {
      problems.push({
        field: 'jurisdiction',
        message: 'only duty_officer tokens carry a jurisdiction',
      });
    }
    if (input.role === 'grid_member') {
      if (!gridCode) {
        problems.push({ field: 'grid', message: 'a grid_member token needs a grid code' });
      } else if (!(await this.db.query('SELECT 1 FROM grids WHERE code = $1', [gridCode])).length) {
        problems.push({ field: 'grid', message: `grid ${gridCode} is not in the directory` });
      }
    } else if (gridCode) {
      problems.push({ field: 'grid', message: 'only grid_member tokens carry a grid' });
    }
    if (problems.length) throw AppException.validation(problems);

    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    // The token and its audit event commit together. Never the token nor its hash in the log.
    const record = await this.db.transaction(async (m) => {
      const repo = m.getRepository(ApiToken);
      const saved = await repo.save(
        repo.create({
          name: input.name.trim(),
          role: input.role,
          jurisdiction,
          gridCode,
          tokenHash: hashToken(token),
        }),
      );
      await this.audit.append(
        [
          {
            actor,
            action: 'token.created',
            subjectType: 'token',
            subjectId: saved.id,
            data: { role: saved.role, jurisdiction, gridCode },
          },
        ],
        m,
      );
      return saved;
    });
    return { token, record };
  }

  async revoke(id: string, actor = 'system'): Promise<ApiToken> {
    const record = await this.repo.findOne({ where: { id } }).catch(() => null);
    if (!record) throw AppException.notFound('令牌 token', id);
    // Revoked once, with its audit event in the same transaction (two revokes racing append one).
    await this.db.transaction(async (m) => {
      const [revoked] = await rows<{ role: string }>(
        m,
        `UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING role`,
        [id],
      );
      if (!revoked) return;
      await this.audit.append(
        [
          {
            actor,
            action: 'token.revoked',
            subjectType: 'token',
            subjectId: id,
            data: { role: revoked.role },
          },
        ],
        m,
      );
    });
    return (await this.repo.findOne({ where: { id } })) ?? record;
  }

  list(): Promise<ApiToken[]> {
    return this.repo.find({ order: { createdAt: 'ASC' } });
  }

  /** The principal for a bearer token, or null when unknown or revoked. */
  async authenticate(token: string): Promise<Principal | null> {
    if (!token.startsWith(TOKEN_PREFIX)) return null;
    const record = await this.repo.findOne({
      where: { tokenHash: hashToken(token), revokedAt: IsNull() },
    });
    if (!record) return null;
    const now = Date.now();
    if (!record.lastUsedAt || now - record.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      // Fire-and-forget bookkeeping must never fail a request.
      void this.repo.update(record.id, { lastUsedAt: new Date(now) }).catch(() => undefined);
    }
    return principalOf(record);
  }

  /**
   * The current principal of each token id that still exists and is not revoked (ids missing from
   * the map are gone). For long-lived connections that must notice a revocation after they began.
   */
  async activePrincipals(tokenIds: string[]): Promise<Map<string, Principal>> {
    const ids = [...new Set(tokenIds)];
    if (!ids.length) return new Map();
    const records = await this.repo.find({ where: { id: In(ids), revokedAt: IsNull() } });
    return new Map(records.map((r) => [r.id, principalOf(r)]));
  }
}

function principalOf(record: ApiToken): Principal {
  return {
    tokenId: record.id,
    name: record.name,
    role: record.role,
    jurisdiction: record.jurisdiction,
    gridCode: record.gridCode,
  };
}

export function assertRole(role: string): asserts role is TokenRole {
  if (!TOKEN_ROLES.includes(role as TokenRole)) {
    throw new AppException(
      ErrorCode.ValidationFailed,
      `无效角色：${role}`,
      `Unknown role: ${role} (expected ${TOKEN_ROLES.join(', ')})`,
      { fields: [{ field: 'role', message: `role must be one of ${TOKEN_ROLES.join(', ')}` }] },
    );
  }
}
