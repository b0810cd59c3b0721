import { areaCodeOf } from './place-names';
import { hashParts } from './seeded-random';

/** Mobile prefixes in service with the three carriers (all valid in libphonenumber's metadata). */
const MOBILE_PREFIXES = [
  '130', '131', '132', '133', '134', '135', '136', '137', '138', '139', '150', '151', '152',
  '153', '155', '156', '157', '158', '159', '176', '177', '178', '180', '181', '182', '183',
  '184', '185', '186', '187', '188', '189', '198', '199',
]; // prettier-ignore

// Multipliers prime to 10, so n → (a·n + b) mod 10^k is a permutation: distinct people never
// share a number, and the numbers do not look sequential.
const MOBILE_A = 7_654_321;
const LANDLINE_A = 104_729;
const SATELLITE_A = 7_919;

/**
 * Deterministic, valid and distinct phone numbers for person number n of a generated county,
 * written the various ways rosters write them (the import normalises them to E.164).
 */
export class PhoneBook {
  private readonly mobileB: number;
  private readonly landlineB: number;
  private readonly satelliteB: number;
  private readonly areaCode: string;
  private readonly localDigits: number;

  constructor(seed: number, countyCode: string) {
    this.mobileB = hashParts(seed, countyCode, 'mobile') % 100_000_000;
    this.landlineB = hashParts(seed, countyCode, 'landline') % 1_000_000;
    this.satelliteB = hashParts(seed, countyCode, 'satellite') % 1_000_000;
    [this.areaCode, this.localDigits] = areaCodeOf(countyCode);
  }

  /** `13812345678`, `138 1234 5678` or `138-1234-5678`. */
  mobile(n: number): string {
    // The eight digits alone are distinct for n < 10^8; the prefix only varies the look.
    const rest = String((MOBILE_A * n + this.mobileB) % 100_000_000).padStart(8, '0');
    const prefix = MOBILE_PREFIXES[(n + Number(rest.slice(-3))) % MOBILE_PREFIXES.length];
    switch (n % 5) {
      case 3:
        return `${prefix} ${rest.slice(0, 4)} ${rest.slice(4)}`;
      case 4:
        return `${prefix}-${rest.slice(0, 4)}-${rest.slice(4)}`;
      default:
        return prefix + rest;
    }
  }

  /** An office or home line in the county's area: `0837-6221234`. */
  landline(n: number): string {
    const tail = String((LANDLINE_A * n + this.landlineB) % 1_000_000).padStart(6, '0');
    const local = `${2 + (n % 7)}${tail}`
      .padEnd(this.localDigits, String(n % 10))
      .slice(0, this.localDigits);
    return `${this.areaCode}-${local}`;
  }

  /** A 天通 (Tiantong) satellite phone: `174 00xx xxxx`. */
  satellite(n: number): string {
    const rest = String((SATELLITE_A * n + this.satelliteB) % 1_000_000).padStart(6, '0');
    return `174 00${rest.slice(0, 2)} ${rest.slice(2)}`;
  }
}
