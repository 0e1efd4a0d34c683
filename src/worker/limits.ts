/**
 * Bounds of the worker-thread transport. Kept here rather than in src/limits.ts: they belong to the
 * transport, which is built on the store's public API only.
 */

/**
 * Requests from one port that the owner has received but not yet answered. Beyond it a request is
 * refused at once with ERR_STORE_OVERLOADED, so one worker cannot queue without bound on the owner.
 * Room for a few thousand concurrent writes per worker; the store's own mailbox bounds still apply.
 */
export const requestsInFlightMaxDefault = 4096;

/**
 * Range walks (`range`, `keys`, `values`, `entries`) from one port that hold a cursor on the owner at
 * once. A cursor pins the store's consistent view of the range (an O(1) copy-on-write snapshot of the
 * ordered index: writes made while it is held copy the index nodes they touch), so a client may not
 * hold them without bound. A walk that fits in its first page never holds one; beyond the bound,
 * opening a walk that would is refused with ERR_STORE_OVERLOADED. Configurable per port
 * (`rangeCursorsMax` of `serveStore`).
 */
export const rangeCursorsMaxDefault = 64;

/** Entries per page of a range walk when the call does not give `pageSize`. */
export const rangePageSizeDefault = 1000;

/**
 * The largest `pageSize` a range walk may ask for. The owner reads a page synchronously on its
 * event loop and sends it as one message: this bounds both the pause and the message.
 */
export const rangePageSizeMax = 10_000;
