import { expect } from 'vitest';
import { DurableKVError, type ErrorCode } from '../../src/errors.js';

/** An error as the tests look at it: a durable-kv error (code, and where the store is corrupt) or a file-system one. */
export type CodedError = Error & { code?: string; file?: string; offset?: number; reason?: string };

/**
 * The error `promiseOrCall` rejects with; fails the test if it resolves. Given a call, also fails if
 * the call throws synchronously: an async method reports misuse as a rejection, never as a throw.
 */
export async function rejectionOf(promiseOrCall: Promise<unknown> | (() => Promise<unknown>)): Promise<CodedError> {
  let promise: Promise<unknown>;
  if (typeof promiseOrCall !== 'function') promise = promiseOrCall;
  else {
    try {
      promise = promiseOrCall();
    } catch (error) {
      throw new Error(`threw synchronously instead of rejecting: ${(error as Error).message}`);
    }
  }
  try {
    await promise;
  } catch (error) {
    return error as CodedError;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** What `fn` throws synchronously; fails the test if it returns. */
export function thrownBy(fn: () => unknown): CodedError {
  try {
    fn();
  } catch (error) {
    return error as CodedError;
  }
  throw new Error('expected a throw, but the call returned');
}

/** A durable-kv error class, such as StoreClosedError. */
type ErrorClass = abstract new (...args: never[]) => DurableKVError;

/**
 * Asserts an Error carrying `code`: never a raw TypeError or fs error. Given `Class`, also that it is
 * an instance of that class (and so of DurableKVError) with a message.
 */
export function expectCode(error: unknown, code: ErrorCode, Class?: ErrorClass): void {
  const label = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  expect(error, label).toBeInstanceOf(Error);
  if (Class !== undefined) {
    expect(error, label).toBeInstanceOf(Class);
    expect(error, label).toBeInstanceOf(DurableKVError);
  }
  expect((error as CodedError).code, label).toBe(code);
  if (Class !== undefined) expect((error as Error).message).not.toBe('');
}

/** The string `code` of whatever was thrown, or undefined if it has none. */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
