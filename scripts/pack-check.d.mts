export interface VerifyPackedPackageOptions {
  packageDir: string;
  esm: string;
  cjs: string;
  ts: string;
}
export function verifyPackedPackage(
  options: VerifyPackedPackageOptions,
): Promise<{ scratch: string; tarballs: string[] }>;
