import type { MetricTable } from '../src/index.js';

export function renderTable(table: MetricTable): string;
export function renderReadme(readme: string, tables: Record<string, MetricTable>): string;
