#!/usr/bin/env python3
"""A peer of cdrmin for the benchmark: the same inputs, the number fields
replaced by a keyed BLAKE2b (hashlib.blake2b, 128 bits, hex), the standard
library only, as someone would write it in Python.

    peer.py FORMAT KEYFILE [FILE]     (stdin when no FILE; output on stdout)

FORMAT: asterisk or freeswitch (csv module: columns 2 and 3), kamailio-json
(json module: the object after "json_acc[...]: ", src_user, dst_ouser,
dst_user), kannel (the [from:] and [to:] fields). It does less than cdrmin:
no numbering plan, no scrubbing of other fields, no times, no deny by
default. It exists to put cdrmin's throughput beside a familiar tool's.
"""
import csv
import hashlib
import json
import re
import sys

KANNEL_FIELD = re.compile(r"\[(from|to):([^\]]*)\]")
JSON_FIELDS = ("src_user", "dst_ouser", "dst_user")


def main():
    if len(sys.argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 64
    fmt, keyfile = sys.argv[1], sys.argv[2]
    with open(keyfile, "rb") as f:
        key = f.read()

    def token(value):
        return hashlib.blake2b(value.encode(), key=key, digest_size=16).hexdigest()

    src = open(sys.argv[3], newline="") if len(sys.argv) == 4 else sys.stdin
    out = sys.stdout
    if fmt in ("asterisk", "freeswitch"):
        writer = csv.writer(out, lineterminator="\n")
        for row in csv.reader(src):
            row[1] = token(row[1])
            row[2] = token(row[2])
            writer.writerow(row)
    elif fmt == "kamailio-json":
        for line in src:
            if "json_acc[" not in line:
                continue
            rec = json.loads(line[line.index("{"):])
            for name in JSON_FIELDS:
                if isinstance(rec.get(name), str):
                    rec[name] = token(rec[name])
            out.write(json.dumps(rec))
            out.write("\n")
    elif fmt == "kannel":
        sub = lambda m: "[%s:%s]" % (m.group(1), token(m.group(2)))
        for line in src:
            out.write(KANNEL_FIELD.sub(sub, line))
    else:
        sys.stderr.write("peer.py: unknown format %s\n" % fmt)
        return 64
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
