/** `text` as UTF-8 bytes. */
export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** UTF-8 `data` as text; undefined (no such file) stays undefined. */
export const text = (data: Uint8Array | undefined): string | undefined => (data === undefined ? undefined : new TextDecoder().decode(data));
