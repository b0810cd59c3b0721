export const TOKEN_ROLES = ['admin', 'duty_officer', 'auditor', 'grid_member'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];
