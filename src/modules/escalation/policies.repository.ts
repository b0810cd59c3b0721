import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { rows } from '../../database/sql';
import { AuditService } from '../audit/audit.service';
import { type EscalationPolicy, GROUP_CONFIRM_ONE } from '../chain/escalation-policy.types';

const COLUMNS = `id, name, kinds, levels, statuses, roles, rank, danger_zone_only AS "dangerZoneOnly", steps, on_exhausted AS "onExhausted",
  group_rule_seconds AS "groupRuleSeconds", group_confirm AS "groupConfirm", reach_deadline_seconds AS "reachDeadlineSeconds"`;

/** Policies change rarely and are read on every fan-out batch and timer: cached for a few seconds. */
const CACHE_MS = 5000;

@Injectable()
export class PoliciesRepository {
  private cache?: { at: number; policies: EscalationPolicy[] };

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  async all(fresh = false): Promise<EscalationPolicy[]> {
    if (!fresh && this.cache && Date.now() - this.cache.at < CACHE_MS) return this.cache.policies;
    const policies = await this.db.query<EscalationPolicy[]>(
      `SELECT ${COLUMNS} FROM escalation_policies ORDER BY rank, name`,
    );
    this.cache = { at: Date.now(), policies };
    return policies;
  }

  async byId(id: string): Promise<EscalationPolicy | undefined> {
    return (
      (await this.all()).find((p) => p.id === id) ?? (await this.all(true)).find((p) => p.id === id)
    );
  }

  /**
   * The best-ranked policy matching a warning and a recipient (an empty list matches anything;
   * a danger-zone policy matches only people in the warning's danger zone).
   */
  async choose(
    kind: string,
    level: string,
    status: string,
    role: string,
    inDangerZone = false,
  ): Promise<EscalationPolicy> {
    const hit = (list: string[], v: string) => list.length === 0 || list.includes(v);
    const match = (await this.all()).find(
      (p) =>
        hit(p.kinds, kind) &&
        hit(p.levels, level) &&
        hit(p.statuses, status) &&
        hit(p.roles, role) &&
        (!p.dangerZoneOnly || inDangerZone),
    );
    if (!match) throw new Error(`no escalation policy matches ${kind}/${level}/${status}/${role}`);
    return match;
  }

  invalidate(): void {
    this.cache = undefined;
  }

  /** Creates or (with `id`) replaces a policy; the change and who made it go into the audit log. */
  async save(
    p: Omit<EscalationPolicy, 'id'>,
    id?: string,
    actor = 'system',
  ): Promise<EscalationPolicy | undefined> {
    const params = [
      p.name,
      p.kinds,
      p.levels,
      p.statuses,
      p.roles,
      p.rank,
      JSON.stringify(p.steps),
      JSON.stringify(p.onExhausted),
      p.groupRuleSeconds,
      p.reachDeadlineSeconds,
      p.dangerZoneOnly ?? false,
      JSON.stringify(p.groupConfirm ?? GROUP_CONFIRM_ONE),
    ];
    const saved = await this.db.transaction(async (m) => {
      const [row] = id
        ? await rows<EscalationPolicy>(
            m,
            `UPDATE escalation_policies SET name = $1, kinds = $2, levels = $3, statuses = $4, roles = $5, rank = $6, steps = $7,
                    on_exhausted = $8, group_rule_seconds = $9, reach_deadline_seconds = $10,
                    danger_zone_only = $11, group_confirm = $12, updated_at = now()
              WHERE id = $13 RETURNING ${COLUMNS}`,
            [...params, id],
          )
        : await m.query(
            `INSERT INTO escalation_policies (name, kinds, levels, statuses, roles, rank, steps, on_exhausted, group_rule_seconds, reach_deadline_seconds, danger_zone_only, group_confirm)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ${COLUMNS}`,
            params,
          );
      if (!row) return undefined;
      const { id: policyId, ...content } = row as EscalationPolicy;
      await this.audit.append(
        [
          {
            actor,
            action: id ? 'policy.updated' : 'policy.created',
            subjectType: 'policy',
            subjectId: policyId,
            data: content as unknown as Record<string, unknown>,
          },
        ],
        m,
      );
      return row;
    });
    this.invalidate();
    return saved;
  }

  /** Policies already used by a delivery are kept (the chain record points at them). */
  async remove(id: string, actor = 'system'): Promise<'removed' | 'missing' | 'in_use'> {
    const [used] = await this.db.query(`SELECT 1 FROM deliveries WHERE policy_id = $1 LIMIT 1`, [
      id,
    ]);
    if (used) return 'in_use';
    const removed = await this.db.transaction(async (m) => {
      const [row] = await rows<{ id: string; name: string }>(
        m,
        `DELETE FROM escalation_policies WHERE id = $1 RETURNING id, name`,
        [id],
      );
      if (row) {
        await this.audit.append(
          [
            {
              actor,
              action: 'policy.deleted',
              subjectType: 'policy',
              subjectId: row.id,
              data: { name: row.name },
            },
          ],
          m,
        );
      }
      return row;
    });
    this.invalidate();
    return removed ? 'removed' : 'missing';
  }
}
