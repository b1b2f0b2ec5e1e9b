import { checkDurationWithin, parseDuration } from '../../../lambdas/core/domain/duration';
import { ValidationError } from '../../../lambdas/core/domain/errors';

describe('ISO-8601 durations', () => {
  it.each([
    ['PT2H', 7_200_000],
    ['PT90M', 5_400_000],
    ['PT1H30M', 5_400_000],
    ['PT1S', 1000],
    ['P1D', 86_400_000],
    ['P1DT1H', 90_000_000],
    ['PT0S', 0],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'P', 'PT', '2H', 'PT-1H', 'PT1.5H', 'P1Y', 'P1M', 'P1W', 'pt2h', 'PT2H ', 'PT2HX', 'P1DT'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  describe('within floor and cap', () => {
    const within = (value: string) => () => checkDurationWithin(value, 'duration', 'PT15M', 'PT4H');

    it('accepts the floor, the cap and anything between', () => {
      expect(within('PT15M')()).toBe(900_000);
      expect(within('PT4H')()).toBe(14_400_000);
      expect(within('PT2H')()).toBe(7_200_000);
    });

    it.each([
      ['PT0S', 'at least PT15M'],
      ['PT14M59S', 'at least PT15M'],
      ['PT4H0M1S', 'at most PT4H'],
      ['P1D', 'at most PT4H'],
      ['two hours', 'ISO-8601'],
      ['-PT1H', 'ISO-8601'],
    ])('refuses %s with a message saying %s', (value, message) => {
      expect(within(value)).toThrow(ValidationError);
      expect(within(value)).toThrow(message);
    });
  });
});
