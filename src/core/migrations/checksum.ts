/** sqlx's checksum (SHA-384 over the raw file bytes) and advisory lock id (0x3d32ad9e × CRC-32 of the database name). */
import { createHash } from 'node:crypto';

export function sha384(data: Uint8Array | string): Buffer {
  return createHash('sha384').update(data).digest();
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32/ISO-HDLC (zlib's crc32). `node:zlib`'s crc32 needs Node 20.15+, which VS Code 1.90's runtime predates. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The key sqlx passes to pg_advisory_lock for a database (from `SELECT current_database()`). */
export function advisoryLockId(databaseName: string): bigint {
  return 0x3d32ad9en * BigInt(crc32(Buffer.from(databaseName, 'utf8')));
}

/** Lowercase hex of every byte, as `sqlx migrate info` prints a checksum. */
export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/**
 * When a modified file's checksum differs only by line endings, a BOM or trailing white space,
 * says which (sqlx#2659, #3794): the usual cause is Git's autocrlf or an editor, not a real change.
 */
export function explainChecksumDifference(local: Buffer, appliedChecksum: Uint8Array): string | undefined {
  const applied = Buffer.from(appliedChecksum);
  const text = local.toString('utf8');
  const variants: Array<[string, string]> = [
    ['line endings (CRLF in the file, LF when applied)', text.replace(/\r\n/g, '\n')],
    ['line endings (LF in the file, CRLF when applied)', text.replace(/\r?\n/g, '\r\n')],
    ['a byte order mark (BOM) at the start of the file', text.replace(/^\uFEFF/, '')],
    ['a byte order mark (BOM) missing from the start of the file', `\uFEFF${text}`],
    ['trailing white space', text.replace(/[ \t]+(?=\r?\n|$)/g, '')],
    ['the newline at the end of the file', text.endsWith('\n') ? text.replace(/\r?\n$/, '') : `${text}\n`],
    ['line endings and a BOM', text.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n')],
  ];
  for (const [what, variant] of variants) {
    if (variant !== text && sha384(variant).equals(applied)) return `Only ${what} differ from the applied version.`;
  }
  return undefined;
}
