import { zh_CN } from '@faker-js/faker';
import type { SeededRandom } from './seeded-random';

/** The most common surnames, which faker's zh_CN list (uniform, with 上官 and 令狐) underweights. */
const COMMON_SURNAMES =
  '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤'.split(
    '',
  );

let shared: ChineseNames | undefined;

/**
 * Chinese full names from fakerZH_CN's locale data (surnames, given names), drawn with our own
 * seeded generator: faker's fullName() costs ~15 µs and re-seeding it ~200 µs, too slow for a
 * million residents, while a draw here costs well under a microsecond.
 */
export class ChineseNames {
  private constructor(
    private readonly surnames: readonly string[],
    private readonly common: readonly string[],
    private readonly given: readonly string[],
  ) {}

  static load(): ChineseNames {
    if (!shared) {
      const person = zh_CN.person;
      const surnames = [...(person?.last_name?.generic ?? [])];
      const first = person?.first_name;
      const given = [
        ...new Set([...(first?.generic ?? []), ...(first?.female ?? []), ...(first?.male ?? [])]),
      ];
      if (surnames.length === 0 || given.length === 0)
        throw new Error('faker zh_CN has no person names');
      shared = new ChineseNames(
        surnames,
        COMMON_SURNAMES.filter((s) => surnames.includes(s)),
        given,
      );
    }
    return shared;
  }

  /** 王建国-style: a common surname three times in four, else any of faker's. */
  pick(rng: SeededRandom): string {
    const surname = rng.chance(0.75) ? rng.pick(this.common) : rng.pick(this.surnames);
    return surname + rng.pick(this.given);
  }
}
