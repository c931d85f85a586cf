export interface VerifyPackedPackageOptions {
  packageDir: string;
  esm: string;
  cjs: string;
  ts: string;
  /** The exact runtime dependencies (dependencies, peer and optional) the packed manifest must list. */
  dependencies?: string[];
}
export function verifyPackedPackage(
  options: VerifyPackedPackageOptions,
): Promise<{ scratch: string; tarballs: string[] }>;
export function readTarball(file: string): Promise<Map<string, Buffer>>;
export function checkTarball(file: string, expect?: { dependencies?: string[] }): Promise<string[]>;
