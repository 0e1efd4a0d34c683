/** Whether an entry with this expiry is gone at `nowMs` (epoch ms; an `expiresAt` of 0 never expires). */
export function isExpired(expiresAt: number, nowMs: number): boolean {
  return expiresAt !== 0 && expiresAt <= nowMs;
}
