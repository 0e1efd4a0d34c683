/**
 * A small JSON document store on durable-kv: `valueEncoding: 'json'`, a secondary index kept in the
 * same atomic batch as the document, and a restart that shows both survive together.
 *
 *   npm run example:json-documents
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DurableKVStore } from '../src/index.js';

interface Book {
  title: string;
  author: string;
  year: number;
  tags: string[];
}

const dir = mkdtempSync(path.join(tmpdir(), 'durable-kv-json-'));
const books: Array<[string, Book]> = [
  ['book:1', { title: 'The Art of Computer Programming', author: 'Knuth', year: 1968, tags: ['algorithms'] }],
  ['book:2', { title: 'Structure and Interpretation of Computer Programs', author: 'Abelson', year: 1985, tags: ['lisp'] }],
  ['book:3', { title: 'Concrete Mathematics', author: 'Knuth', year: 1989, tags: ['math', 'algorithms'] }],
];

let store = await DurableKVStore.open(dir, { valueEncoding: 'json' });
for (const [id, book] of books) {
  // Document and index entry in one batch: after any crash, both or neither.
  await store.batch([
    { type: 'put', key: id, value: book },
    { type: 'put', key: `index:author:${book.author}:${id}`, value: id },
  ]);
}
await store.close();

store = await DurableKVStore.open(dir, { valueEncoding: 'json' });
const byKnuth = [...store.keys()].filter((key) => key.startsWith('index:author:Knuth:')).map((key) => store.get(key) as string);
console.log(`after a restart, ${store.size} keys; books by Knuth:`);
for (const id of byKnuth) {
  const book = store.get(id) as Book;
  console.log(`  ${id}: ${book.title} (${book.year}) [${book.tags.join(', ')}]`);
}

const copy = store.get('book:1') as Book;
copy.title = 'changed in my copy only';
console.log(`get returns a fresh object each time: stored title is still "${(store.get('book:1') as Book).title}"`);

await store.close();
rmSync(dir, { recursive: true, force: true });
