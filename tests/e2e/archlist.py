"""List a tar archive (stdin), one line per entry, for comparing archives
entry for entry:

    python3 archlist.py [--names] [--xattrs] < archive.tar

Each line: path, type and permission bits (octal), uid, gid, [uname,
gname], size (0 for anything but regular files with data), device numbers,
symlink target or hard link target, [xattrs: name=hex sorted, and the
ACLs as sorted entries].  Times are left out: the trees are the same, but
an archive made later may see a directory's atime or a ctime changed, and
the point is the metadata a session fakes.  ACLs are shown however the
writer stored them (SCHILY.acl.*, or the xattr system.posix_acl_*).

Two things writers legitimately do differently are evened out: the xattrs
of a hard link entry (GNU tar writes none, libarchive repeats the
target's; the extractor links the names either way), and the group bits
of the mode of a file with an access ACL (POSIX puts the ACL's mask
there, libarchive's model the owning group's entry; extracting the ACL
sets the same mode either way).
"""
import struct
import sys
import tarfile

ACL_TAGS = {1: "user:", 2: "user:%d", 4: "group:", 8: "group:%d", 0x10: "mask:", 0x20: "other:"}


def perm(p):
    return "".join(c if p & b else "-" for c, b in (("r", 4), ("w", 2), ("x", 1)))


def acl_from_xattr(raw):
    """The binary form (version 2; tag, perm, id per entry) as text entries."""
    out = []
    for off in range(4, len(raw), 8):
        tag, p, ident = struct.unpack_from("<HHI", raw, off)
        name = ACL_TAGS[tag] % ident if "%d" in ACL_TAGS[tag] else ACL_TAGS[tag]
        out.append("%s:%s" % (name, perm(p)))
    return sorted(out)


def acl_from_text(text):
    out = []
    for e in text.replace("\n", ",").split(","):
        e = e.strip()
        if not e:
            continue
        f = e.split(":")
        # "user::rwx", "user:123:rwx", and libarchive's "user:name:rwx:123"
        ident = f[3] if len(f) > 3 else f[1]
        out.append("%s:%s:%s" % (f[0], ident, f[2]))
    return sorted(out)


def main():
    names = "--names" in sys.argv
    xattrs = "--xattrs" in sys.argv
    t = tarfile.open(fileobj=sys.stdin.buffer, mode="r|", encoding="utf-8", errors="surrogateescape")
    for m in t:
        kind = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.LNKTYPE: "hardlink",
                tarfile.SYMTYPE: "symlink", tarfile.CHRTYPE: "char", tarfile.BLKTYPE: "block",
                tarfile.DIRTYPE: "dir", tarfile.FIFOTYPE: "fifo"}.get(m.type, repr(m.type))
        h = m.pax_headers
        mode = m.mode
        if xattrs and (h.get("SCHILY.acl.access") or h.get("SCHILY.xattr.system.posix_acl_access")):
            mode &= ~0o070
        f = [m.name.rstrip("/") or ".", kind, "%04o" % mode, str(m.uid), str(m.gid)]
        if names:
            f += [m.uname or "-", m.gname or "-"]
        f.append(str(m.size if kind == "file" else 0))
        if kind in ("char", "block"):
            f.append("%d,%d" % (m.devmajor, m.devminor))
        if kind in ("symlink", "hardlink"):
            f.append("-> " + m.linkname.rstrip("/"))
        if xattrs:
            xa = [] if kind == "hardlink" else sorted("%s=%s" % (k[len("SCHILY.xattr."):], h[k].encode("utf-8", "surrogateescape").hex())
                        for k in h if k.startswith("SCHILY.xattr.")
                        and not k.startswith("SCHILY.xattr.system.posix_acl_"))
            acls = []
            for which in ("access", "default"):
                raw = h.get("SCHILY.xattr.system.posix_acl_" + which)
                text = h.get("SCHILY.acl." + which)
                if text:
                    acls += [which + ":" + e for e in acl_from_text(text)]
                elif raw:
                    acls += [which + ":" + e for e in acl_from_xattr(raw.encode("utf-8", "surrogateescape"))]
            f += ["xattrs:" + ",".join(xa), "acl:" + ",".join(acls)]
        print("\t".join(f))


main()
