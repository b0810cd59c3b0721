import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { ContactKind } from '../../../common/domain/directory.types';
import { Person } from './person.entity';

/** One way to reach a person. Lower priority is tried first. Phones are stored as E.164. */
@Entity('contact_points')
export class ContactPoint {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'person_id', type: 'uuid' })
  personId: string;

  @ManyToOne(() => Person, (p) => p.contacts, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'person_id' })
  person?: Person;

  @Column({ type: 'text' })
  kind: ContactKind;

  @Column({ type: 'text' })
  value: string;

  @Column({ type: 'int' })
  priority: number;

  @Column({ name: 'verified_at', type: 'date', nullable: true })
  verifiedAt: string | null;
}
