import { Subject, filter, type Observable, type OperatorFunction } from 'rxjs';
import type { Message } from './index.js';

/** Narrows a stream of messages to the given `type`s, with the type predicate TypeScript needs. */
export function ofType<T extends Message['type']>(...types: T[]): OperatorFunction<Message, Extract<Message, { type: T }>> {
  return filter((message): message is Extract<Message, { type: T }> => (types as string[]).includes(message.type));
}

/**
 * The event bus the actors talk over. It owns its Subject: actors `publish` and `on(...)`, nobody
 * else calls `next`. `stop$` fires once at close; every actor's subscription ends with
 * `takeUntil(bus.stop$)`, so closing a store leaks no subscription.
 *
 * Delivery is synchronous: `publish` returns after every subscriber has handled the message. The
 * write path relies on this — a committed record is applied to the memtable before anything else
 * runs — and so does the snapshot barrier.
 */
export class Bus {
  readonly #messages = new Subject<Message>();
  readonly #stop = new Subject<void>();
  readonly stop$: Observable<void> = this.#stop.asObservable();

  publish(message: Message): void {
    this.#messages.next(message);
  }

  on<T extends Message['type']>(...types: T[]): Observable<Extract<Message, { type: T }>> {
    return this.#messages.pipe(ofType(...types));
  }

  stop(): void {
    this.#stop.next();
    this.#stop.complete();
    this.#messages.complete();
  }
}
