/**
 * Template registry: `renderMessage(channel, ctx)` picks the template of the channel by locale
 * (default zh-CN), warning kind and message type (`ctx.warning.kind`, `ctx.warning.msgType`).
 */
import type { MessageType, WarningKind } from '../common/domain/warning.types';
import { broadcastTemplates } from './broadcast';
import { emailTemplates } from './email';
import { escalationTemplates } from './escalation';
import { manualTemplates } from './manual';
import { robotTemplates } from './robot';
import { smsTemplates } from './sms';
import {
  Channel,
  ChannelContexts,
  ChannelOutputs,
  DEFAULT_LOCALE,
  Locale,
  LOCALES,
  TemplateFn,
  TemplateTable,
} from './types';
import { voiceTemplates } from './voice';

export const TEMPLATES: { [C in Channel]: TemplateTable<ChannelContexts[C], ChannelOutputs[C]> } = {
  sms: smsTemplates,
  voice: voiceTemplates,
  robot: robotTemplates,
  email: emailTemplates,
  broadcast: broadcastTemplates,
  manual: manualTemplates,
  escalation: escalationTemplates,
};

export class TemplateNotFoundError extends Error {
  override readonly name = 'TemplateNotFoundError';
}

export function resolveTemplate<C extends Channel>(
  channel: C,
  locale: Locale,
  kind: WarningKind,
  msgType: MessageType,
): TemplateFn<ChannelContexts[C], ChannelOutputs[C]> {
  const table = TEMPLATES[channel] as
    TemplateTable<ChannelContexts[C], ChannelOutputs[C]> | undefined;
  const fn = table?.[locale]?.[kind]?.[msgType];
  if (!fn) {
    throw new TemplateNotFoundError(
      `No template for channel=${String(channel)} locale=${locale} kind=${kind} msgType=${msgType}` +
        (LOCALES.includes(locale) ? '' : ` (locales: ${LOCALES.join(', ')})`),
    );
  }
  return fn;
}

export function renderMessage<C extends Channel>(
  channel: C,
  ctx: ChannelContexts[C],
): ChannelOutputs[C] {
  const { kind, msgType } = ctx.warning;
  return resolveTemplate(channel, ctx.locale ?? DEFAULT_LOCALE, kind, msgType)(ctx);
}
