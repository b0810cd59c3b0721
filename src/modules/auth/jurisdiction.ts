import { AppException, ErrorCode } from '../../common/errors/app.exception';
import type { Principal } from '../../common/auth/auth.decorators';

/** True when a division code lies within the principal's jurisdiction (admins see everything). */
export function withinJurisdiction(principal: Principal, divisionCode: string): boolean {
  if (principal.role === 'admin' || principal.role === 'auditor') return true;
  if (principal.role === 'duty_officer')
    return !!principal.jurisdiction && divisionCode.startsWith(principal.jurisdiction);
  if (principal.role === 'grid_member')
    return !!principal.gridCode && divisionCode === principal.gridCode;
  return false;
}

export function assertWithinJurisdiction(
  principal: Principal,
  codes: string[],
  field: string,
): void {
  const outside = codes.filter((code) => !withinJurisdiction(principal, code));
  if (outside.length) {
    throw new AppException(
      ErrorCode.OutsideJurisdiction,
      `超出辖区：${outside.join(', ')}`,
      `Outside your jurisdiction: ${outside.join(', ')}`,
      { fields: [{ field, message: `outside jurisdiction ${principal.jurisdiction ?? ''}` }] },
    );
  }
}
