#!/usr/bin/env python3
"""gpu_weights.py: carry a .snw weight file to the GPU machine within the device call's size limit.

A device call takes at most 64 MiB of working tree, data included. ResNet-50's
float32 weights are 98 MiB, and float32 does not compress: the low mantissa
bytes are noise (xz of the whole payload, byte planes split: 82 MiB). So the
weights travel rounded to bfloat16, the upper 16 bits of each float rounded to
nearest even: the top byte of each (sign and 7 exponent bits) compresses to a
third with xz, the other byte is stored as it is: 33 MiB in all.

The unpacked file is an ordinary float32 .snw (weights/FORMAT.md) holding the
rounded values, with its checksums recomputed and a note in its metadata. The
same rounded file, written here by `pack --rounded`, is what the CPU reference
run uses, so the CPU and GPU runs compare on identical weights.

  pack   SRC.snw PACK [--rounded OUT.snw]   here (numpy is used when present)
  unpack PACK OUT.snw                       there: python3, standard library only

PACK layout (little-endian): magic b"SNWBF16" + b"\\x01"; u64 head_size; u64
n_floats; u64 top_size; 32 bytes sha256 of the rounded .snw; then head_size
bytes (the rounded file up to its payload), top_size bytes (xz of byte 3 of
every payload float), n_floats bytes (byte 2 of every payload float).
"""
import argparse
import hashlib
import json
import lzma
import os
import struct
import sys
import zlib

MAGIC = b"SNWBF16\x01"
PREFIX = struct.Struct("<8sQQQ32s")
SNW_FIXED = struct.Struct("<8sIIQQQI")  # magic, version, header_crc32, header_size, payload_offset, payload_size, payload_crc32


def fail(path, msg):
    sys.exit(f"gpu_weights: {path}: {msg}")


def round_to_bf16(payload):
    """float32 bytes -> the same floats rounded to bfloat16 (low 16 bits zero), nearest even."""
    try:
        import numpy as np
        u = np.frombuffer(payload, dtype="<u4").astype(np.uint64)
        if np.any((u & 0x7F800000) == 0x7F800000):
            raise ValueError("a weight is inf or NaN")
        r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
        return r.astype("<u4").tobytes()
    except ImportError:
        import array
        a = array.array("I", payload)
        if sys.byteorder != "little":
            a.byteswap()
        for i, u in enumerate(a):
            if u & 0x7F800000 == 0x7F800000:
                raise ValueError("a weight is inf or NaN")
            a[i] = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
        if sys.byteorder != "little":
            a.byteswap()
        return a.tobytes()


def read_snw(path):
    """(header JSON, payload bytes, sha256 of the whole file) of a version-1 .snw."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 64:
        fail(path, "shorter than the 64-byte .snw prefix")
    magic, version, _, header_size, payload_offset, payload_size, _ = SNW_FIXED.unpack_from(data)
    if magic != b"SNWEIGHT" or version != 1:
        fail(path, "not a version-1 .snw file")
    if payload_offset + payload_size != len(data) or payload_size % 4:
        fail(path, f"size {len(data)} does not match payload offset {payload_offset} + size {payload_size}")
    header = json.loads(data[64:64 + header_size].decode("utf-8"))
    return header, data[payload_offset:], hashlib.sha256(data).hexdigest()


def write_snw(header, payload):
    """A complete .snw file (bytes) for this header and payload, every checksum recomputed."""
    for t in header["tensors"]:
        t["crc32"] = zlib.crc32(payload[t["offset"]:t["offset"] + t["nbytes"]])
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    payload_offset = (64 + len(hjson) + 63) // 64 * 64
    prefix = SNW_FIXED.pack(b"SNWEIGHT", 1, zlib.crc32(hjson), len(hjson), payload_offset, len(payload),
                            zlib.crc32(payload)) + bytes(20)
    return prefix + hjson + bytes(payload_offset - 64 - len(hjson)) + payload


def atomic_write(path, data):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def pack(src, dst, rounded_out):
    header, payload, src_sha256 = read_snw(src)
    try:
        rounded = round_to_bf16(payload)
    except ValueError as e:
        fail(src, str(e))
    meta = header.setdefault("metadata", {})
    meta["bfloat16_rounding"] = (f"every weight rounded to bfloat16 (nearest even) by tools/gpu_weights.py "
                                 f"to travel to the GPU machine; source file sha256 "
                                 f"{src_sha256}")
    snw = write_snw(header, rounded)
    head_size = len(snw) - len(rounded)
    top = lzma.compress(rounded[3::4], preset=6)
    body = PREFIX.pack(MAGIC, head_size, len(rounded) // 4, len(top), hashlib.sha256(snw).digest())
    atomic_write(dst, body + snw[:head_size] + top + rounded[2::4])
    if rounded_out:
        atomic_write(rounded_out, snw)
    print(f"gpu_weights: {src} ({len(payload) >> 20} MiB of float32) -> {dst} "
          f"({os.path.getsize(dst) / 2**20:.1f} MiB)" + (f", rounded file {rounded_out}" if rounded_out else ""))


def unpack(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    if len(data) < PREFIX.size:
        fail(src, "too short for a gpu_weights pack")
    magic, head_size, n, top_size, digest = PREFIX.unpack_from(data)
    if magic != MAGIC:
        fail(src, "not a gpu_weights pack (bad magic)")
    if PREFIX.size + head_size + top_size + n != len(data):
        fail(src, "truncated or damaged: sizes in its prefix do not add up to the file size")
    pos = PREFIX.size
    out = bytearray(head_size + 4 * n)
    out[:head_size] = data[pos:pos + head_size]
    pos += head_size
    try:
        top = lzma.decompress(data[pos:pos + top_size])
    except lzma.LZMAError as e:
        fail(src, f"damaged top-byte stream: {e}")
    if len(top) != n:
        fail(src, f"top-byte stream holds {len(top)} bytes, expected {n}")
    out[head_size + 3::4] = top
    out[head_size + 2::4] = data[pos + top_size:]
    if hashlib.sha256(out).digest() != digest:
        fail(src, "the unpacked file does not have the sha256 recorded when it was packed")
    atomic_write(dst, bytes(out))
    print(f"gpu_weights: {src} -> {dst} ({len(out) / 2**20:.1f} MiB, sha256 checked)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="round a .snw to bfloat16 and pack it")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--rounded", help="also write the rounded float32 .snw here (for the CPU run)")
    u = sub.add_parser("unpack", help="rebuild the rounded float32 .snw from a pack")
    u.add_argument("src")
    u.add_argument("dst")
    a = ap.parse_args()
    if a.cmd == "pack":
        pack(a.src, a.dst, a.rounded)
    else:
        unpack(a.src, a.dst)


if __name__ == "__main__":
    main()
