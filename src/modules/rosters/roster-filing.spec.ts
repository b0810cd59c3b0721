import { fileByDate, rosterFileBy, rosterFileByCounties } from './roster-filing';

describe('roster filing dates', () => {
  it('defaults to 20 April and refuses a day that does not exist', () => {
    expect(rosterFileBy(undefined)).toBe('04-20');
    expect(rosterFileBy('05-31')).toBe('05-31');
    expect(() => rosterFileBy('02-30')).toThrow(/ROSTER_FILE_BY/);
  });

  it('reads county dates (ROSTER_FILE_BY_COUNTY) and names the variable on a bad entry', () => {
    expect(rosterFileByCounties(undefined)).toEqual({});
    expect(rosterFileByCounties(' 513221=05-10 , 510100=04-30 ')).toEqual({
      '513221': '05-10',
      '510100': '04-30',
    });
    expect(() => rosterFileByCounties('5132=05-10')).toThrow(/ROSTER_FILE_BY_COUNTY/);
    expect(() => rosterFileByCounties('513221=13-01')).toThrow(/ROSTER_FILE_BY_COUNTY/);
    expect(() => rosterFileByCounties('513221=05-10,513221=05-11')).toThrow(/twice/);
  });

  it('gives the date in the Beijing year of now', () => {
    expect(fileByDate(new Date('2026-12-31T17:00:00Z'), '04-20')).toBe('2027-04-20');
  });
});
