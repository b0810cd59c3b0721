import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { RobotPlatform } from '../../../common/domain/directory.types';

/**
 * A WeCom / DingTalk / Feishu group robot attached to a grid, village or township. Its webhook URL
 * (WeCom's carries the key) and signing secret are stored encrypted and never returned by the API.
 */
@Entity('group_robots')
export class GroupRobot {
  @PrimaryColumn({ type: 'varchar', length: 64, collation: 'C' })
  code: string;

  @Column({ type: 'text' })
  platform: RobotPlatform;

  @Column({ type: 'text' })
  name: string;

  @Column({ name: 'division_code', type: 'varchar', length: 12, collation: 'C' })
  divisionCode: string;

  @Column({ name: 'grid_code', type: 'varchar', length: 32, collation: 'C', nullable: true })
  gridCode: string | null;

  @Column({ name: 'webhook_url_encrypted', type: 'text' })
  webhookUrlEncrypted: string;

  @Column({ name: 'secret_encrypted', type: 'text', nullable: true })
  secretEncrypted: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
