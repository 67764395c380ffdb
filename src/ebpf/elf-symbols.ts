/**
 * Just enough ELF (System V gABI, "Sections" and "Symbol Table") to tell whether a file exports
 * the OpenSSL entry points a uprobe can attach to, and which sections it has (Go's
 * `.go.buildinfo`): section headers, `.dynsym` and its string table, read by position so that a
 * 100 MB binary (node) costs a few hundred KB of reads. 64-bit little-endian only (x86-64,
 * aarch64: the hosts bpftrace runs on); anything else, or anything malformed, gives null.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface ElfFacts {
  /** Defined (exported) dynamic symbols among those asked for. */
  symbols: Set<string>;
  sections: Set<string>;
}

const SHT_DYNSYM = 11;
/** A section table or .dynsym larger than this is not believed (node's .dynsym is ~1 MB; the
 * largest binaries seen, Chrome, ~4 MB). */
const MAX_TABLE = 64 * 1024 * 1024;

function readAt(fd: number, pos: number, len: number): Buffer | null {
  if (len < 0 || len > MAX_TABLE) return null;
  const b = Buffer.alloc(len);
  const n = readSync(fd, b, 0, len, pos);
  return n === len ? b : null;
}

function cstr(b: Buffer, at: number): string {
  if (at < 0 || at >= b.length) return '';
  const end = b.indexOf(0, at);
  return b.toString('latin1', at, end < 0 ? b.length : end);
}

export function readElfFacts(path: string, wanted: ReadonlySet<string>): ElfFacts | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    if (!fstatSync(fd).isFile()) return null;
    const h = readAt(fd, 0, 64);
    // e_ident: magic, ELFCLASS64 (2), ELFDATA2LSB (1).
    if (h === null || h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) return null;
    const shoff = Number(h.readBigUInt64LE(0x28));
    const shentsize = h.readUInt16LE(0x3a);
    const shnum = h.readUInt16LE(0x3c);
    const shstrndx = h.readUInt16LE(0x3e);
    if (shentsize < 64 || shnum === 0) return null;
    const sh = readAt(fd, shoff, shentsize * shnum);
    if (sh === null) return null;
    const sec = (i: number): { name: number; type: number; offset: number; size: number; link: number; entsize: number } => {
      const o = i * shentsize;
      return {
        name: sh.readUInt32LE(o),
        type: sh.readUInt32LE(o + 4),
        offset: Number(sh.readBigUInt64LE(o + 0x18)),
        size: Number(sh.readBigUInt64LE(o + 0x20)),
        link: sh.readUInt32LE(o + 0x28),
        entsize: Number(sh.readBigUInt64LE(o + 0x38)),
      };
    };
    const sections = new Set<string>();
    if (shstrndx < shnum) {
      const s = sec(shstrndx);
      const names = readAt(fd, s.offset, s.size);
      if (names !== null) for (let i = 0; i < shnum; i++) sections.add(cstr(names, sec(i).name));
    }
    const symbols = new Set<string>();
    for (let i = 0; i < shnum; i++) {
      const s = sec(i);
      if (s.type !== SHT_DYNSYM || s.entsize < 24 || s.link >= shnum) continue;
      const strs = sec(s.link);
      const str = readAt(fd, strs.offset, strs.size);
      const syms = readAt(fd, s.offset, s.size);
      if (str === null || syms === null) continue;
      for (let o = 0; o + 24 <= syms.length; o += s.entsize) {
        // Elf64_Sym: st_name u32, st_info u8, st_other u8, st_shndx u16, st_value, st_size.
        const shndx = syms.readUInt16LE(o + 6);
        if (shndx === 0) continue; // undefined: imported, not exported
        const name = cstr(str, syms.readUInt32LE(o));
        if (wanted.has(name)) symbols.add(name);
      }
    }
    return { symbols, sections };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
