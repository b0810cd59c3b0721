export const SECRET_BOX = 'SECRET_BOX';
