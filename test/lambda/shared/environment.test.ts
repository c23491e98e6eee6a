import { requiredEnvironment } from '../../../lambda/shared/environment';

describe('requiredEnvironment', () => {
  it('returns the named variables', () => {
    expect(requiredEnvironment({ A: 'a', B: 'b', OTHER: 'x' }, ['A', 'B'])).toEqual({ A: 'a', B: 'b' });
  });

  it('names every missing variable in one error, an empty one counting as missing', () => {
    expect(() => requiredEnvironment({ B: 'b', C: '' }, ['A', 'B', 'C'])).toThrow(new Error('missing environment variables: A, C'));
  });

  it('says "variable" for one', () => {
    expect(() => requiredEnvironment({}, ['A'])).toThrow(new Error('missing environment variable: A'));
  });
});
