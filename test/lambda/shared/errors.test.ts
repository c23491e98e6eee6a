import { DynalakeError, EXIT_CODES } from '../../../lambda/shared/errors';

describe('DynalakeError', () => {
  it('carries its code and message, and prints under its own name', () => {
    const error = new DynalakeError('BAD_INPUT', 'orders.csv, line 3: field Quantity "x" is not an integer');
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('BAD_INPUT');
    expect(error.name).toBe('DynalakeError');
    expect(String(error)).toBe('DynalakeError: orders.csv, line 3: field Quantity "x" is not an integer');
  });
});

describe('EXIT_CODES', () => {
  it('is the CLI contract: 2 for what the caller must fix, 1 for a failed run, 130 for an interrupted one', () => {
    expect(EXIT_CODES).toStrictEqual({ BAD_INVOCATION: 2, BAD_INPUT: 2, LOAD_FAILED: 1, INTERRUPTED: 130 });
  });
});
