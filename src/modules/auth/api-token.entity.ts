import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { TokenRole } from '../../common/auth/token-role';

/** A bearer token. Only its SHA-256 hash is stored; the token itself is shown once at creation. */
@Entity('api_tokens')
export class ApiToken {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text' })
  role: TokenRole;

  /** duty_officer: division code prefix the officer may issue warnings for. */
  @Column({ type: 'varchar', length: 12, collation: 'C', nullable: true })
  jurisdiction: string | null;

  /** grid_member: the grid the member acts for. */
  @Column({ name: 'grid_code', type: 'varchar', length: 32, collation: 'C', nullable: true })
  gridCode: string | null;

  @Column({ name: 'token_hash', type: 'char', length: 64, unique: true })
  tokenHash: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;
}
