#!/usr/bin/env python3
"""Writes the hostile captures of tests/hostile.sh (python3 standard library only).

  mkhostile.py DIR    writes into DIR:

  sip-NAME.pcap            tests/hostile/sip/NAME.sip as one UDP/IPv4 datagram
                           192.0.2.10:5060 -> 192.0.2.20:5060 in an Ethernet frame
  cl-2e32-tcp.pcap         content-length-2e32-plus-32.sip in a TCP connection, then
                           a good OPTIONS on the same connection
  big-header-64k-tcp.pcap  an OPTIONS with a 65536-byte Subject over TCP, then a good
                           OPTIONS
  big-header-frag.pcap     an OPTIONS with a 65000-byte Subject in one UDP datagram
                           cut into 45 IPv4 fragments, sent last fragment first
  big-header-64k.sip       the OPTIONS with the 64 KiB header as a message file (for
  big-header-1m.sip        the replay of fuzz_sip), and one with a 1 MiB header
  caplen-gt-len.pcap       a good frame, a frame whose record says caplen 200 > len
                           150, a good frame
  caplen-gt-len-v6.pcap    only an IPv6 frame with caplen 200 > len 120
  snaplen-huge.pcap        file snaplen 0x7fffffff, two good frames
  snaplen-huge-frame.pcap  file snaplen 0x7fffffff, a good frame, then a frame of
                           caplen = len = 262145 (one more than libpcap's maximum)
  truncated-last-header.pcap  two good frames, the file cut 7 bytes into the third
                           frame's record header
  truncated-last-data.pcap two good frames, the file cut in the third frame's data
  pcapng-epb-16m.pcapng    SHB, IDB, a good EPB, an EPB whose block length says
                           16 MiB, the file ending 48 bytes into it
  pcapng-unknown-16m.pcapng  the same with a block of an unknown type claiming 16 MiB
  pcapng-shb-16m.pcapng    a section header block claiming 16 MiB, nothing after it
  pcapng-caplen-16m.pcapng a good EPB, then an EPB of 84 bytes whose captured
                           length field says 16 MiB, then a good EPB
  frag-oversize.pcap       IPv4 fragments of one datagram that would end past 65535
                           bytes (offset 8189 * 8 + 1480), then a good frame
  frag-overlap.pcap        a UDP datagram in three IPv4 fragments, the second
                           overlapping both others with other bytes, then a good frame

Numbers are Ofcom drama numbers (07700 900xxx, 020 7946 0xxx), addresses
192.0.2.0/24 and 2001:db8::/32.
"""
import os
import struct
import sys

T0 = 1795000000  # 2026-11-18, a fixed capture time
SRC, DST = '192.0.2.10', '192.0.2.20'
HERE = os.path.dirname(os.path.abspath(__file__))


# The frame builders and the pcap writer are the SIP suite's.
sys.path.insert(0, os.path.join(HERE, '..', 'sip'))
from mkpcap import Pcap, eth, ip4, tcp, udp, udp_seg  # noqa: E402


def udp_frame(msg):
    return eth(ip4(SRC, DST, 17, udp_seg(SRC, DST, 5060, 5060, msg)))


def tcp_connection(p, data, sport=40001, mss=1400):
    """A TCP connection 192.0.2.10:sport -> 192.0.2.20:5060 carrying data in segments of mss."""
    c, s = 1000, 5000
    p.frame(eth(tcp(SRC, DST, sport, 5060, c, 0, 0x02)))
    p.frame(eth(tcp(DST, SRC, 5060, sport, s, c + 1, 0x12)))
    c, s = c + 1, s + 1
    p.frame(eth(tcp(SRC, DST, sport, 5060, c, s, 0x10)))
    for i in range(0, len(data), mss):
        chunk = data[i:i + mss]
        p.frame(eth(tcp(SRC, DST, sport, 5060, c, s, 0x18, chunk)))
        c += len(chunk)
        p.frame(eth(tcp(DST, SRC, 5060, sport, s, c, 0x10)))
    p.frame(eth(tcp(SRC, DST, sport, 5060, c, s, 0x11)))
    p.frame(eth(tcp(DST, SRC, 5060, sport, s, c + 1, 0x11)))
    p.frame(eth(tcp(SRC, DST, sport, 5060, c + 1, s + 1, 0x10)))


def options(n, transport=b'UDP', extra=b''):
    return (b'OPTIONS sip:+442079460150@192.0.2.20 SIP/2.0\r\n'
            b'Via: SIP/2.0/' + transport + b' 192.0.2.10:5060;branch=z9hG4bK-hg-%d\r\n'
            b'From: <sip:+447700900150@192.0.2.10>;tag=hg-f%d\r\n'
            b'To: <sip:+442079460150@192.0.2.20>\r\n'
            b'Call-ID: good-%d@192.0.2.10\r\n'
            b'CSeq: %d OPTIONS\r\n' % (n, n, n, n) + extra +
            b'Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n')


def big_options(n, size, transport=b'UDP'):
    return options(n, transport, b'Subject: ' + b'A' * size + b'\r\n')


def fragments(payload, ident, size=1480):
    """payload (an IPv4 payload) cut into fragments of size bytes (a multiple of 8)."""
    out = []
    for off in range(0, len(payload), size):
        more = 0x2000 if off + size < len(payload) else 0
        out.append(eth(ip4(SRC, DST, 17, payload[off:off + size], ident, more | (off // 8))))
    return out


def block(btype, body, claim=None):
    body += b'\0' * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack('<II', btype, claim or n) + body + struct.pack('<I', claim or n)


def shb():
    return block(0x0a0d0d0a, struct.pack('<IHHq', 0x1a2b3c4d, 1, 0, -1))


def idb():
    return block(0x00000001, struct.pack('<HHI', 1, 0, 262144))


def epb(frame, caplen=None):
    ts = T0 * 1000000
    return block(0x00000006, struct.pack('<IIIII', 0, ts >> 32, ts & 0xffffffff,
                                         len(frame) if caplen is None else caplen, len(frame)) + frame)


def main(d):
    os.makedirs(d, exist_ok=True)
    sipdir = os.path.join(HERE, 'sip')
    for name in sorted(os.listdir(sipdir)):
        if not name.endswith('.sip'):
            continue
        with open(os.path.join(sipdir, name), 'rb') as f:
            msg = f.read()
        p = Pcap(os.path.join(d, 'sip-' + name[:-4] + '.pcap'))
        p.frame(udp_frame(msg))
        p.close()
        if name == 'content-length-2e32-plus-32.sip':
            p = Pcap(os.path.join(d, 'cl-2e32-tcp.pcap'))
            tcp_connection(p, msg.replace(b'SIP/2.0/UDP', b'SIP/2.0/TCP') + options(1, b'TCP'))
            p.close()

    p = Pcap(os.path.join(d, 'big-header-64k-tcp.pcap'))
    tcp_connection(p, big_options(2, 65536, b'TCP') + options(3, b'TCP'))
    p.close()
    p = Pcap(os.path.join(d, 'big-header-frag.pcap'))
    for f in reversed(fragments(udp_seg(SRC, DST, 5060, 5060, big_options(4, 65000)), 7)):
        p.frame(f)
    p.close()
    with open(os.path.join(d, 'big-header-64k.sip'), 'wb') as f:
        f.write(big_options(5, 65536))
    with open(os.path.join(d, 'big-header-1m.sip'), 'wb') as f:
        f.write(big_options(6, 1 << 20))

    p = Pcap(os.path.join(d, 'caplen-gt-len.pcap'))
    p.frame(udp_frame(options(7)))
    fr = udp_frame(options(8))
    p.frame(fr[:200], caplen=200, length=150)
    p.frame(udp_frame(options(9)))
    p.close()
    p = Pcap(os.path.join(d, 'caplen-gt-len-v6.pcap'))
    fr = eth(udp('2001:db8::10', '2001:db8::20', 5060, 5060, options(10)))
    p.frame(fr[:200], caplen=200, length=120)
    p.close()

    p = Pcap(os.path.join(d, 'snaplen-huge.pcap'), snaplen=0x7fffffff)
    p.frame(udp_frame(options(11)))
    p.frame(udp_frame(options(12)))
    p.close()
    p = Pcap(os.path.join(d, 'snaplen-huge-frame.pcap'), snaplen=0x7fffffff)
    p.frame(udp_frame(options(13)))
    fr = udp_frame(options(14))
    p.frame(fr + b'\0' * (262145 - len(fr)))
    p.close()

    for name, cut in (('truncated-last-header.pcap', 7), ('truncated-last-data.pcap', 16 + 60)):
        p = Pcap(os.path.join(d, name))
        p.frame(udp_frame(options(15)))
        p.frame(udp_frame(options(16)))
        fr = udp_frame(options(17))
        p.raw((struct.pack('<IIII', T0 + 1, 0, len(fr), len(fr)) + fr)[:cut])
        p.close()

    good1, good2 = udp_frame(options(18)), udp_frame(options(19))
    with open(os.path.join(d, 'pcapng-epb-16m.pcapng'), 'wb') as f:
        f.write(shb() + idb() + epb(good1))
        # the block's 8-byte head, the EPB fields, 20 bytes of the frame: the file ends there
        f.write(struct.pack('<II', 0x00000006, 16 << 20) +
                struct.pack('<IIIII', 0, 0, 0, len(good2), len(good2)) + good2[:20])
    with open(os.path.join(d, 'pcapng-unknown-16m.pcapng'), 'wb') as f:
        f.write(shb() + idb() + epb(good1))
        f.write(struct.pack('<II', 0x0000bad0, 16 << 20) + b'\x5a' * 40)
    with open(os.path.join(d, 'pcapng-shb-16m.pcapng'), 'wb') as f:
        f.write(struct.pack('<IIIHHq', 0x0a0d0d0a, 16 << 20, 0x1a2b3c4d, 1, 0, -1) + b'\0' * 8)
    with open(os.path.join(d, 'pcapng-caplen-16m.pcapng'), 'wb') as f:
        f.write(shb() + idb() + epb(good1))
        f.write(epb(good2[:52], caplen=16 << 20))
        f.write(epb(good2))

    p = Pcap(os.path.join(d, 'frag-oversize.pcap'))
    body = b'\x5a' * 1480
    p.frame(eth(ip4(SRC, DST, 17, udp_seg(SRC, DST, 5060, 5060, b'\x5a' * 1472), 9, 0x2000)))
    p.frame(eth(ip4(SRC, DST, 17, body, 9, 0x2000 | 4000)))
    p.frame(eth(ip4(SRC, DST, 17, body, 9, 8189)))
    p.frame(udp_frame(options(20)))
    p.close()

    p = Pcap(os.path.join(d, 'frag-overlap.pcap'))
    dg = udp_seg(SRC, DST, 5060, 5060, options(21))
    third = (len(dg) // 3) & ~7
    p.frame(eth(ip4(SRC, DST, 17, dg[:third], 11, 0x2000)))
    p.frame(eth(ip4(SRC, DST, 17, b'\x5a' * (third + 16), 11, 0x2000 | ((third - 8) // 8))))
    p.frame(eth(ip4(SRC, DST, 17, dg[2 * third:], 11, (2 * third) // 8)))
    p.frame(udp_frame(options(22)))
    p.close()


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
