// The Node.js flags the proxy runs with: its `roundguard` bin (the shebang of src/main.ts), `pnpm start`,
// `pnpm bench` and the soak script pass them; node:cluster workers inherit them. A test keeps them in step.
//
// Every socket read allocates a buffer of up to 64 KiB outside the JavaScript heap, which V8 frees only
// when it collects the young generation. With Node 20's default young generation (semi-spaces growing to
// 16 MiB) those collections are rare, and V8 keeps starting full mark-compacts instead: 17-93 in 8 s of
// 64 KiB requests.
// - --max-semi-space-size=4 (MiB) makes young collections frequent enough: 0-4 mark-compacts in a fresh
//   process.
// - --no-allocation-site-pretenuring keeps that true after a long run of small requests: with a small
//   young generation, more request objects survive one collection, V8 then allocates them straight into
//   the old generation ("pretenuring"), and the mark-compacts come back. With the first flag alone the
//   shared harness (10 s of 100 B, then 64 KiB) measured about 325 us/req on 64 KiB, worse than without.
// Measured in the shared harness, 4 rounds of 100 B then 64 KiB: 64 KiB 2,798-4,048 req/s against
// 2,696-2,947 without the flags (210 against 249 us/req in one run of 2 rounds); 100 B the same.
export const PROXY_NODE_FLAGS = ['--max-semi-space-size=4', '--no-allocation-site-pretenuring'];
