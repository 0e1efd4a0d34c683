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
