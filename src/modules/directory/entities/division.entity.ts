import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { DivisionLevel } from '../../../common/domain/directory.types';

@Entity('divisions')
export class Division {
  /** GB/T 2260 (2, 4, 6 digits) or statistical division code (9, 12 digits). */
  @PrimaryColumn({ type: 'varchar', length: 12, collation: 'C' })
  code: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text' })
  level: DivisionLevel;

  @Column({ name: 'parent_code', type: 'varchar', length: 12, collation: 'C', nullable: true })
  parentCode: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
