import { isEmail } from 'class-validator';
import type { ContactKind } from '../../../../common/domain/directory.types';
import { checkPhone } from '../../phone';

export type ContactCheck =
  { ok: true; value: string } | { ok: false; message: string; messageEn: string };

const PLATFORM_ID = /^[^\s;；,，]{1,128}$/;

/** The stored form of a contact value: E.164 phones, lower-case e-mail, platform ids as given. */
export function normaliseContact(kind: ContactKind, value: string): ContactCheck {
  switch (kind) {
    case 'mobile':
    case 'landline':
    case 'satellite': {
      const phone = checkPhone(value, kind);
      return phone.ok ? { ok: true, value: phone.e164 } : phone;
    }
    case 'email':
      return isEmail(value)
        ? { ok: true, value: value.toLowerCase() }
        : {
            ok: false,
            message: `电子邮箱地址无效：${value}`,
            messageEn: `invalid e-mail address: ${value}`,
          };
    case 'wecom':
    case 'dingtalk':
    case 'feishu':
      return PLATFORM_ID.test(value)
        ? { ok: true, value }
        : {
            ok: false,
            message: `账号应为不含空格和分隔符的 1–128 个字符：${value}`,
            messageEn: `an account id is 1 to 128 characters without spaces or separators: ${value}`,
          };
  }
}
