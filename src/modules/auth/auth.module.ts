import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard } from './auth.guard';
import { CreateTokenCommand, ListTokensCommand, RevokeTokenCommand } from './tokens.command';
import { TokensController } from './tokens.controller';
import { TokensService } from './tokens.service';

@Module({
  controllers: [TokensController],
  providers: [TokensService, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [TokensService],
})
export class AuthModule {}

/** The token commands, for the CLI only. */
@Module({
  providers: [TokensService, CreateTokenCommand, RevokeTokenCommand, ListTokensCommand],
  exports: [TokensService],
})
export class AuthCliModule {}
