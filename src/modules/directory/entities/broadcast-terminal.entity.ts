import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A village loudspeaker (村村响) of the emergency broadcast platform. */
@Entity('broadcast_terminals')
export class BroadcastTerminal {
  @PrimaryColumn({ type: 'varchar', length: 64, collation: 'C' })
  code: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ name: 'division_code', type: 'varchar', length: 12, collation: 'C' })
  divisionCode: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
