import { assign, fromPromise, setup } from 'xstate';

export type StoreState = 'opening' | 'recovering' | 'ready' | 'closing' | 'closed' | 'failed';

/** The work each lifecycle state does; the store's engine provides it. */
export interface LifecycleSteps {
  /** opening: create the directory, take the lock. */
  acquire(): Promise<void>;
  /** recovering: load the newest snapshot, replay the WAL, start the actors. */
  recover(): Promise<void>;
  /** closing: drain pending writes, sync, close files, release the lock. */
  shutdown(): Promise<void>;
  /** failed during opening or recovering: give back whatever was taken. */
  release(): Promise<void>;
}

type LifecycleEvent = { type: 'CLOSE' } | { type: 'FAIL'; error: unknown };

/**
 * opening → recovering → ready → closing → closed, and failed.
 *
 * A failure while opening or recovering releases what was taken (the lock included) and stays in
 * `failed`; `open()` rejects with the error. A write or fsync failure while ready moves to `failed`
 * too: reads go on, writes are refused, and `close()` still goes through closing to closed.
 */
export const lifecycleMachine = setup({
  types: {
    /** `error`: why the store failed; `closeError`: what went wrong while closing (close() rejects with it). */
    context: {} as { steps: LifecycleSteps; error: unknown; closeError: unknown },
    input: {} as { steps: LifecycleSteps },
    events: {} as LifecycleEvent,
  },
  actors: {
    acquire: fromPromise<void, { steps: LifecycleSteps }>(({ input }) => input.steps.acquire()),
    recover: fromPromise<void, { steps: LifecycleSteps }>(({ input }) => input.steps.recover()),
    shutdown: fromPromise<void, { steps: LifecycleSteps }>(({ input }) => input.steps.shutdown()),
    release: fromPromise<void, { steps: LifecycleSteps }>(({ input }) => input.steps.release()),
  },
  actions: {
    recordError: assign({ error: (_, params: { error: unknown }) => params.error }),
    recordCloseError: assign({ closeError: (_, params: { error: unknown }) => params.error }),
  },
}).createMachine({
  id: 'durable-kv',
  initial: 'opening',
  context: ({ input }) => ({ steps: input.steps, error: undefined, closeError: undefined }),
  states: {
    opening: {
      invoke: {
        src: 'acquire',
        input: ({ context }) => ({ steps: context.steps }),
        onDone: 'recovering',
        onError: { target: 'releasing', actions: { type: 'recordError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    recovering: {
      invoke: {
        src: 'recover',
        input: ({ context }) => ({ steps: context.steps }),
        onDone: 'ready',
        onError: { target: 'releasing', actions: { type: 'recordError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    ready: {
      on: {
        CLOSE: 'closing',
        FAIL: { target: 'failed', actions: { type: 'recordError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    /** Not a public state: `state` still reads 'failed' while an open that failed gives back its lock. */
    releasing: {
      invoke: {
        src: 'release',
        input: ({ context }) => ({ steps: context.steps }),
        onDone: 'openFailed',
        onError: 'openFailed',
      },
    },
    openFailed: { type: 'final' },
    failed: {
      on: { CLOSE: 'closing' },
    },
    closing: {
      invoke: {
        src: 'shutdown',
        input: ({ context }) => ({ steps: context.steps }),
        onDone: 'closed',
        onError: { target: 'closed', actions: { type: 'recordCloseError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    closed: { type: 'final' },
  },
});

/** The machine's state as the public `store.state` names it. */
export function publicState(value: string): StoreState {
  if (value === 'releasing' || value === 'openFailed') return 'failed';
  return value as StoreState;
}
