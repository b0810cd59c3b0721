import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A grid (网格) under a village. Its code starts with the village's 12-digit code. */
@Entity('grids')
export class Grid {
  @PrimaryColumn({ type: 'varchar', length: 32, collation: 'C' })
  code: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ name: 'village_code', type: 'varchar', length: 12, collation: 'C' })
  villageCode: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
