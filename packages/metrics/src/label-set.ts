/** Label name → value of one series, as passed to prom-client. */
export type LabelSet = Readonly<Record<string, string>>;
