/** The Node.js flags the proxy runs with (see node-flags.mjs). */
export declare const PROXY_NODE_FLAGS: readonly string[];
