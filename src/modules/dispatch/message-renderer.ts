import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { type GroupRuleFigures, type ManualTaskType, renderMessage } from '../../templates';
import type { EnvironmentVariables } from '../../config/env.validation';
import { PublicUrls } from '../../common/public-urls';
import { PERSON_ROLE_NAMES_ZH, type PersonRole } from '../../common/domain/directory.types';
import { ConfirmLinkSigner } from '../../common/crypto/confirm-link';
import type { MessageType, WarningContent, WarningLevel } from '../../common/domain/warning.types';
import type { PreviousContent } from '../warnings/warnings.repository';

/**
 * A release after an update (the person's area was dropped while the warning goes on elsewhere):
 * their own areas and the level they had. The texts say their area left the warning, never that
 * the warning ended.
 */
export interface DroppedArea {
  places: string[];
  level: WarningLevel;
}

/** Confirmation links stay valid a day past the warning's end, for late answers to be recorded. */
const LINK_GRACE_MS = 24 * 3600_000;

/** Renders what one person receives on one channel: the templates plus per-person context. */
@Injectable()
export class MessageRenderer {
  private readonly signer: ConfirmLinkSigner;
  private readonly signature: string;
  /**
   * The residents' one-segment SMS of each version: it names nobody and carries no link (both are
   * in the long form only), so it is the same text for every resident the version reaches, and a
   * fan-out renders it once instead of once per person. Keyed by the version's content (versions
   * are never changed once issued; WarningsRepository caches their rows) and, for an update, what
   * it is compared with. `null`: the short form does not fit one segment, every resident gets
   * the long form with their own link.
   */
  private readonly residentForms = new WeakMap<WarningContent, Map<string, string | null>>();

  constructor(
    private readonly urls: PublicUrls,
    @Inject(ConfigService) config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.signer = new ConfirmLinkSigner(config.get('APP_SECRET', { infer: true }) as string);
    this.signature = (config.get('SMS_SIGNATURE' as never) as string | undefined) ?? '应急预警';
  }

  confirmUrl(deliveryId: string, content: WarningContent): string {
    return this.urls.confirmLink(
      this.signer.sign(deliveryId, new Date(content.expires.getTime() + LINK_GRACE_MS)),
    );
  }

  get linkSigner(): ConfirmLinkSigner {
    return this.signer;
  }

  private context(
    content: WarningContent,
    msgType: MessageType,
    person?: { name: string; role: PersonRole; deliveryId?: string; dropped?: DroppedArea },
    groupDropped?: DroppedArea,
    previous?: PreviousContent,
  ) {
    return {
      warning: { ...content, msgType },
      previous,
      signature: this.signature,
      dropped: person?.dropped ?? groupDropped,
      recipient: person
        ? {
            name: person.name,
            role: PERSON_ROLE_NAMES_ZH[person.role],
            confirmUrl: person.deliveryId ? this.confirmUrl(person.deliveryId, content) : undefined,
          }
        : undefined,
    };
  }

  /** Residents get the one-segment form; responsible persons the full text with the link. */
  sms(
    content: WarningContent,
    msgType: MessageType,
    person: { name: string; role: PersonRole; deliveryId: string; dropped?: DroppedArea },
    previous?: PreviousContent,
  ): string {
    if (person.role === 'resident' && !person.dropped) {
      const short = this.residentShort(content, msgType, previous);
      if (short !== null) return short;
    }
    const m = renderMessage('sms', this.context(content, msgType, person, undefined, previous));
    return person.role === 'resident' && m.shortFits ? m.short : m.long;
  }

  /** See residentForms: the short form, rendered once per version; null when it does not fit. */
  private residentShort(
    content: WarningContent,
    msgType: MessageType,
    previous?: PreviousContent,
  ): string | null {
    let forms = this.residentForms.get(content);
    if (!forms) this.residentForms.set(content, (forms = new Map()));
    const key = `${msgType}|${previous ? JSON.stringify(previous) : ''}`;
    let short = forms.get(key);
    if (short === undefined) {
      const m = renderMessage(
        'sms',
        this.context(content, msgType, undefined, undefined, previous),
      );
      short = m.shortFits ? m.short : null;
      forms.set(key, short);
    }
    return short;
  }

  voice(
    content: WarningContent,
    msgType: MessageType,
    person?: { name: string; role: PersonRole; dropped?: DroppedArea },
    previous?: PreviousContent,
  ) {
    return renderMessage('voice', this.context(content, msgType, person, undefined, previous));
  }

  email(
    content: WarningContent,
    msgType: MessageType,
    person: { name: string; role: PersonRole; deliveryId: string; dropped?: DroppedArea },
    previous?: PreviousContent,
  ) {
    return renderMessage('email', this.context(content, msgType, person, undefined, previous));
  }

  manualTask(
    content: WarningContent,
    task: { type: ManualTaskType; area: string; targets?: { name: string }[]; number?: number },
  ): string {
    return renderMessage('manual', { ...this.context(content, 'alert'), task }).sms;
  }

  /** A notice to a superior: who asked for help, who did not answer, which grid is silent, and where. */
  escalation(
    content: WarningContent,
    person: { name: string; role: PersonRole },
    unanswered: {
      name: string;
      role: string;
      place: string;
      reason?: 'not_woken' | 'help_requested' | 'group_silent';
      attempts?: number;
      group?: GroupRuleFigures;
    }[],
  ) {
    return renderMessage('escalation', {
      ...this.context(content, 'alert'),
      supervisor: { name: person.name, role: PERSON_ROLE_NAMES_ZH[person.role] },
      unanswered: unanswered.map((u) => ({
        name: u.name,
        role: PERSON_ROLE_NAMES_ZH[u.role as PersonRole] ?? u.role,
        place: u.place,
        reason: u.reason,
        attempts: u.attempts || undefined,
        group: u.group,
      })),
    });
  }

  /** `dropped`: a release to a village whose area an update dropped (its name, its level). */
  broadcast(
    content: WarningContent,
    msgType: MessageType,
    dropped?: DroppedArea,
    previous?: PreviousContent,
  ) {
    return renderMessage('broadcast', this.context(content, msgType, undefined, dropped, previous));
  }

  /** `dropped`: a release to a group whose area an update dropped (its name, its level). */
  robot(
    content: WarningContent,
    msgType: MessageType,
    platform: 'wecom' | 'dingtalk' | 'feishu',
    mentions: { name: string; mobile?: string; userId?: string; deliveryId: string }[],
    dropped?: DroppedArea,
    previous?: PreviousContent,
  ) {
    return renderMessage('robot', {
      ...this.context(content, msgType, undefined, dropped, previous),
      platform,
      mentions: mentions.map((m) => ({
        name: m.name,
        mobile: m.mobile,
        userId: m.userId,
        confirmUrl: this.confirmUrl(m.deliveryId, content),
      })),
    });
  }
}
