/**
 * A small inventory and orders ledger, written for classic-level. `npm run example:level` runs it
 * twice: as it is, and with its one import line changed to durable-kv/level's `DurableLevel`.
 *
 *   node --import tsx examples/level/inventory-app.ts <data directory>
 *
 * Stock is kept as `item:<sku>` keys in the database; orders in an `orders` sublevel, keyed by a
 * zero-padded sequence number so that key order is order-number order. Placing an order moves stock
 * and records the order in one atomic batch across the two: after a crash, both or neither.
 *
 * Every line it prints is deterministic (no timings, no random, no paths), so two runs on two
 * databases can be compared line for line.
 */
import { ClassicLevel as Level } from 'classic-level';

interface Item {
  name: string;
  qty: number;
  priceCents: number;
}

interface Order {
  customer: string;
  sku: string;
  qty: number;
  totalCents: number;
}

const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: inventory-app.ts <data directory>');
  process.exit(2);
}

const money = (cents: number) => `$${(cents / 100).toFixed(2)}`;
const itemKey = (sku: string) => `item:${sku}`;
const orderId = (n: number) => String(n).padStart(4, '0');

let db = new Level<string, Item>(dir, { valueEncoding: 'json' });
let orders = db.sublevel<string, Order>('orders', { valueEncoding: 'json' });
let nextOrder = 1;

/** Every item, in key order: `item:` up to (not including) `item;`, the next character after ':'. */
async function stockReport(): Promise<string> {
  const parts: string[] = [];
  for await (const [key, item] of db.iterator({ gte: 'item:', lt: 'item;' })) {
    parts.push(`${key.slice('item:'.length)} ${item.qty}`);
  }
  return parts.join(', ');
}

/** Order ids, in order. */
async function orderIds(): Promise<string> {
  return (await orders.keys().all()).join(' ');
}

/** Checks the stock, then takes it and records the order in one atomic batch; refuses if short. */
async function placeOrder(customer: string, sku: string, qty: number): Promise<void> {
  const item = await db.get(itemKey(sku));
  if (item === undefined || item.qty < qty) {
    console.log(`refused: ${customer} ${qty} x ${sku} (${item === undefined ? 'no such item' : `${item.qty} in stock`})`);
    return;
  }
  const id = orderId(nextOrder++);
  const order: Order = { customer, sku, qty, totalCents: qty * item.priceCents };
  await db
    .batch()
    .put(itemKey(sku), { ...item, qty: item.qty - qty })
    .put(id, order, { sublevel: orders })
    .write();
  console.log(`order ${id}: ${customer} ${qty} x ${sku} = ${money(order.totalCents)}`);
}

// Receive the first delivery: one array batch.
await db.batch([
  { type: 'put', key: itemKey('bolt'), value: { name: 'Hex bolt', qty: 100, priceCents: 25 } },
  { type: 'put', key: itemKey('gear'), value: { name: 'Spur gear', qty: 5, priceCents: 1200 } },
  { type: 'put', key: itemKey('nut'), value: { name: 'Hex nut', qty: 250, priceCents: 10 } },
]);
console.log(`stock: ${await stockReport()}`);

await placeOrder('acme', 'bolt', 40);
await placeOrder('globex', 'gear', 3);
await placeOrder('initech', 'gear', 5);
await placeOrder('acme', 'nut', 100);
await placeOrder('initech', 'gear', 2);
await placeOrder('globex', 'bolt', 60);
await placeOrder('umbrella', 'cog', 1);
console.log(`stock: ${await stockReport()}`);

// The two latest orders among 0002..0004, newest first.
const latest = await orders.iterator({ gte: '0002', lt: '0005', reverse: true, limit: 2 }).all();
console.log(`newest 2 of 0002..0004: ${latest.map(([id, o]) => `${id} ${o.customer}`).join(', ')}`);

// A pick list: several items in one call, an unknown sku among them.
const skus = ['gear', 'cog', 'nut'];
const picked = await db.getMany(skus.map(itemKey));
console.log(`pick list: ${skus.map((sku, i) => `${sku} ${picked[i] === undefined ? 'unknown' : picked[i].name}`).join(', ')}`);

// Month end: orders before 0003 are settled and archived elsewhere; drop them from the ledger.
await orders.clear({ lt: '0003' });
console.log(`archived before 0003, orders left: ${await orderIds()}`);

// Restart: close, open the same directory again, and read everything back.
const before = `${await stockReport()} / ${await orderIds()}`;
await db.close();
db = new Level<string, Item>(dir, { valueEncoding: 'json' });
orders = db.sublevel<string, Order>('orders', { valueEncoding: 'json' });
await db.open();
const after = `${await stockReport()} / ${await orderIds()}`;
console.log(`after reopen: ${after}`);
const kept = await orders.values().all();
const revenue = kept.reduce((sum, o) => sum + o.totalCents, 0);
await db.close();

const ok = before === after;
console.log(
  ok
    ? `inventory: ${nextOrder - 1} orders, ${kept.length} kept (${money(revenue)}), intact after reopen`
    : `inventory: FAILED, ${before} before reopen`,
);
if (!ok) process.exit(1);
