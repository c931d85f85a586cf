// The Node.js flags the proxy runs with: its `roundguard` bin (the shebang of src/main.ts), `pnpm start`,
// `pnpm bench` and the soak script pass them; node:cluster workers inherit them. A test keeps them in step.
//
// --max-semi-space-size=4 (MiB; Node 20's default lets the young generation grow to 16): every socket read
// allocates a buffer of up to 64 KiB outside the JavaScript heap, and V8 frees those only when it collects
// the young generation. With a large young generation, collections are rare, the external memory piles up,
// and V8 answers with full mark-compact collections: on 64 KiB bodies 17-58 of them in 8 s, against 3-4
// with this flag, and 320-376 us of CPU per request against 220-236 (3 paired runs). 100 B requests cost
// the same either way.
export const PROXY_NODE_FLAGS = ['--max-semi-space-size=4'];
