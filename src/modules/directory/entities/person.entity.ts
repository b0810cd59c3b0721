import {
  Column,
  CreateDateColumn,
  Entity,
  OneToMany,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import type { PersonRole } from '../../../common/domain/directory.types';
import { ContactPoint } from './contact-point.entity';

@Entity('people')
export class Person {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** The roster's own key for this person; imports upsert by it. */
  @Column({ name: 'external_id', type: 'text', unique: true })
  externalId: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text' })
  role: PersonRole;

  /** The division the person serves or lives in (any level). */
  @Column({ name: 'division_code', type: 'varchar', length: 12, collation: 'C' })
  divisionCode: string;

  @Column({ name: 'grid_code', type: 'varchar', length: 32, collation: 'C', nullable: true })
  gridCode: string | null;

  /** Escalation target when this person does not answer. */
  @Column({ name: 'supervisor_id', type: 'uuid', nullable: true })
  supervisorId: string | null;

  @Column({ type: 'text', nullable: true })
  title: string | null;

  @OneToMany(() => ContactPoint, (c) => c.person)
  contacts?: ContactPoint[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
