import { Injectable } from '@nestjs/common';
import type { ContactKind, PersonRole } from '../../common/domain/directory.types';
import type { RecipientContact } from '../../common/domain/targeting.types';
import { planStep } from '../chain/contact-plan';
import { TargetingService } from '../directory/targeting/targeting.service';
import { PoliciesRepository } from '../escalation/policies.repository';
import type { CreateWarningDto } from './dto/create-warning.dto';

/** The channels a release preview counts recipients on, in the order they are shown. */
export const PREVIEW_CHANNELS = ['sms', 'voice', 'email', 'robot', 'broadcast'] as const;
export type PreviewChannel = (typeof PREVIEW_CHANNELS)[number];

/**
 * Recipients per channel: people reached by SMS, calls and e-mail in their first step, group
 * robot chats posted to, loudspeaker terminals played on.
 */
export type ChannelCounts = Record<PreviewChannel, number>;

export interface ChannelReach {
  byChannel: ChannelCounts;
  /** Recipients no channel of their first step can reach (no fitting contact point). */
  unreachable: number;
  /** Divisions (villages) whose loudspeakers play, when `broadcast` is counted. */
  broadcastDivisions: number;
}

/**
 * What a warning would reach on each channel, without creating anything: the first step of each
 * recipient's escalation policy (chosen as the fan-out chooses it: kind, level, status, role and
 * whether the person is threatened by the warning's hazard points) on the contact points they
 * have, the group robots of their places, and — for urgent warnings to the public, as the
 * fan-out's group planner decides — the loudspeakers of their villages. Carrier limits per number
 * (applied when the sends are planned) are not counted.
 */
@Injectable()
export class ChannelReachService {
  constructor(
    private readonly targeting: TargetingService,
    private readonly policies: PoliciesRepository,
  ) {}

  async reach(
    dto: CreateWarningDto,
    status: string,
    audience: PersonRole[],
  ): Promise<ChannelReach> {
    const query = {
      areas: dto.areas ?? [],
      hazardPoints: dto.hazardPoints ?? [],
      riskZones: dto.riskZones ?? [],
      roles: audience,
    };
    const sites = [...(dto.hazardPoints ?? []), ...(dto.riskZones ?? [])];
    const byChannel: ChannelCounts = { sms: 0, voice: 0, email: 0, robot: 0, broadcast: 0 };
    let unreachable = 0;
    for (const group of await this.targeting.reachProfile(query, sites)) {
      const policy = await this.policies.choose(
        dto.kind,
        dto.level,
        status,
        group.role,
        group.inDanger,
      );
      // Only the kinds of contact point matter for which channels fit.
      const contacts: RecipientContact[] = group.kinds.map((kind, i) => ({
        kind: kind as ContactKind,
        value: kind,
        priority: i,
        verifiedAt: null,
      }));
      const channels = new Set(planStep(policy, 0, contacts).map((p) => p.channel));
      if (!channels.size) unreachable += group.people;
      for (const c of channels) byChannel[c] += group.people;
    }
    const groups = await this.targeting.groupReach(query);
    byChannel.robot = groups.robots;
    const urgent = dto.kind === 'imminent' || dto.level === 'red' || dto.level === 'orange';
    const loudspeakers = urgent && audience.includes('resident') && status !== 'test';
    byChannel.broadcast = loudspeakers ? groups.terminals : 0;
    return {
      byChannel,
      unreachable,
      broadcastDivisions: loudspeakers ? groups.terminalDivisions : 0,
    };
  }
}
