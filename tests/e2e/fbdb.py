"""Rewrite the records of a fakebuild database, for tests that fake what
happens outside fakebuild's control (a remount, an inode number reused).

    python3 fbdb.py DB shift-dev N      every record's device number += N
    python3 fbdb.py DB shift-btime N    every record's birth time += N s
    python3 fbdb.py DB set-mode INO M   the mode of inode INO's record := M
                                        (e.g. 0o10644: a FIFO on a regular file)

The layout is db/store.h's: chunks under keys b"FBc\\0" + u32, each a u32
count then records of (dev, ino) u64 pairs, struct fb_disk_rec (48 bytes),
the path hint and the xattr blob.
"""
import dbm.gnu
import struct
import sys

# struct fb_disk_rec, by field: version, the disk's permission bits as
# recorded (3 bytes, kept as they are), btime_nsec, btime_sec, real_type,
# uid, gid, mode, rdev, hint_len, xattr_len.
REC = struct.Struct("<B3sIqIIIIQII")
BTIME_SEC, MODE, HINT_LEN, XATTR_LEN = 3, 7, 9, 10


def rewrite(chunk, fix):
    (count,) = struct.unpack_from("<I", chunk, 0)
    out, p = bytearray(chunk[:4]), 4
    for _ in range(count):
        dev, ino = struct.unpack_from("<QQ", chunk, p)
        f = list(REC.unpack_from(chunk, p + 16))
        hl, xl = f[HINT_LEN], f[XATTR_LEN]
        tail = chunk[p + 16 + REC.size:p + 16 + REC.size + hl + xl]
        dev, ino, f = fix(dev, ino, f)
        out += struct.pack("<QQ", dev, ino) + REC.pack(*f) + tail
        p += 16 + REC.size + hl + xl
    return bytes(out)


def main():
    path, op, n = sys.argv[1], sys.argv[2], int(sys.argv[3], 0)
    if op == "shift-dev":
        fix = lambda dev, ino, f: (dev + n, ino, f)
    elif op == "shift-btime":
        def fix(dev, ino, f):
            f[BTIME_SEC] += n
            return dev, ino, f
    elif op == "set-mode":
        mode = int(sys.argv[4], 0)
        def fix(dev, ino, f):
            if ino == n:
                f[MODE] = mode
            return dev, ino, f
    else:
        sys.exit("unknown operation " + op)
    db = dbm.gnu.open(path, "w")
    for k in list(db.keys()):
        if k.startswith(b"FBc\0"):
            db[k] = rewrite(db[k], fix)
    db.close()


main()
