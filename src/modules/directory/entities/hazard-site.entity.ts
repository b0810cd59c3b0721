import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { HazardSiteType } from '../../../common/domain/directory.types';

/**
 * A hazard point (隐患点) or a risk zone (风险区): both are warning targets ("双控"). The grids it
 * touches and the people it threatens or who answer for it are in join tables.
 */
@Entity('hazard_sites')
export class HazardSite {
  @PrimaryColumn({ type: 'varchar', length: 64, collation: 'C' })
  code: string;

  @Column({ type: 'text' })
  type: HazardSiteType;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text' })
  hazard: string;

  @Column({ name: 'division_code', type: 'varchar', length: 12, collation: 'C' })
  divisionCode: string;

  @Column({ type: 'double precision', nullable: true })
  latitude: number | null;

  @Column({ type: 'double precision', nullable: true })
  longitude: number | null;

  /** Declared figures from the roster (the linked residents may be fewer). */
  @Column({ name: 'threatened_people', type: 'int', default: 0 })
  threatenedPeople: number;

  @Column({ name: 'threatened_households', type: 'int', default: 0 })
  threatenedHouseholds: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
