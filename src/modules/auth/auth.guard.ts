import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { type Principal, PUBLIC_KEY, ROLES_KEY } from '../../common/auth/auth.decorators';
import type { TokenRole } from '../../common/auth/token-role';
import { TokensService } from './tokens.service';

/**
 * Global guard: every route is closed unless it is @Public() or names its @Roles(). No token or
 * a bad one is 401; a valid token of the wrong role is 403.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokensService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const req = ctx.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const token = bearerToken(req);
    if (!token) {
      throw new AppException(
        ErrorCode.Unauthenticated,
        '需要访问令牌',
        'A bearer token is required',
      );
    }
    const principal = await this.tokens.authenticate(token);
    if (!principal) {
      throw new AppException(
        ErrorCode.Unauthenticated,
        '访问令牌无效或已吊销',
        'Invalid or revoked token',
      );
    }
    req.principal = principal;
    const roles = this.reflector.getAllAndOverride<TokenRole[] | undefined>(ROLES_KEY, targets);
    if (!roles || !roles.includes(principal.role)) {
      throw new AppException(
        ErrorCode.Forbidden,
        '无权执行此操作',
        `Role ${principal.role} may not do this`,
      );
    }
    return true;
  }
}

function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim() || undefined;
  return undefined;
}
