import { Subject, merge, type Observable } from 'rxjs';
import type { Message } from './index.js';

type MessageType = Message['type'];
type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

/**
 * The event bus the actors talk over. It owns its Subjects: actors `publish` and `on(...)`, nobody
 * else calls `next`. `stop$` fires once at close; every actor's subscription ends with
 * `takeUntil(bus.stop$)`, so closing a store leaks no subscription.
 *
 * Messages are routed by `type` to one Subject per type (made on first use) rather than filtered
 * out of one shared stream: every write publishes at least one message, and with a dozen
 * subscriptions a shared stream would run a dozen filters per write.
 *
 * Delivery is synchronous: `publish` returns after every subscriber has handled the message. The
 * write path relies on this — a committed record is applied to the memtable before anything else
 * runs — and so does the snapshot barrier.
 */
export class Bus {
  readonly #subjects = new Map<MessageType, Subject<Message>>();
  readonly #stop = new Subject<void>();
  readonly stop$: Observable<void> = this.#stop.asObservable();

  publish(message: Message): void {
    this.#subjects.get(message.type)?.next(message);
  }

  /** The messages of the given types, typed by them (the `ofType` of redux-observable, by routing). */
  on<T extends MessageType>(...types: T[]): Observable<MessageOf<T>> {
    const streams = types.map((type) => this.#subjectFor(type).asObservable() as Observable<MessageOf<T>>);
    return streams.length === 1 ? streams[0] : merge(...streams);
  }

  stop(): void {
    this.#stop.next();
    this.#stop.complete();
    for (const subject of this.#subjects.values()) subject.complete();
  }

  #subjectFor(type: MessageType): Subject<Message> {
    let subject = this.#subjects.get(type);
    if (subject === undefined) {
      subject = new Subject<Message>();
      this.#subjects.set(type, subject);
    }
    return subject;
  }
}
