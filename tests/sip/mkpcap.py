#!/usr/bin/env python3
"""Writes pcap and pcapng files for tests/sip.sh (python3 standard library only).

  mkpcap.py udp OUT FILE...     each FILE (a raw SIP message, bytes as they are)
                                becomes one UDP/IPv4 datagram 127.0.0.1:5061 ->
                                127.0.0.1:5060 in an Ethernet frame; frame i is
                                FILE i, one millisecond apart
  mkpcap.py hostile DIR         writes the hostile captures below into DIR
  mkpcap.py send HOST PORT FILE  sends FILE as one UDP datagram to HOST:PORT

Hostile captures (every number an Ofcom drama number, every address loopback):

  caplen-gt-len.pcap      a good frame, then a frame whose record says caplen 120
                          but len 100 (the rest of the frame is a SIP message)
  big-snaplen.pcap        header snaplen 0x7fffffff; a good frame, then a record
                          of caplen = len = 300000 (more than libpcap's 262144)
  truncated-last.pcap     three good frames, the file cut in the third one's data
  pcapng-16m.pcapng       SHB, IDB, a good EPB, then an EPB claiming 16 MiB that
                          the file does not hold
  cl-overflow-udp.pcap    a MESSAGE with Content-Length: 4294967328 (2^32 + 32)
                          and a body of 40 bytes (a line), in one datagram
  cl-overflow-tcp.pcap    the same MESSAGE in a TCP connection (handshake, data
                          in 1400-byte segments), followed by a good OPTIONS
  lone-backslash.pcap     a MESSAGE whose From display name ends in a lone
                          backslash ("Alice \"), one whose P-Asserted-Identity
                          display name is a lone backslash ("\")
  two-to-empty-tag.pcap   a MESSAGE with two To headers, each ";tag=" (empty)
  big-header-udp.pcap     an OPTIONS with a 65000-byte Subject (one datagram)
  big-header-tcp.pcap     an OPTIONS with a 65536-byte Subject over TCP, then a
                          good OPTIONS on the same connection
"""
import os
import socket
import struct
import sys

LINKTYPE_ETHERNET = 1
T0 = 1795000000  # 2026-11-18, a fixed capture time


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip4(src, dst, proto, payload, ident=1, frag=0x4000, total=None):
    """An IPv4 packet: frag holds the flags and fragment offset, total overrides the length."""
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, total or 20 + len(payload), ident, frag, 64, proto,
                      0, socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack('!H', csum(hdr)) + hdr[12:]
    return hdr + payload


def ip6(src, dst, nh, payload):
    return struct.pack('!IHBB16s16s', 6 << 28, len(payload), nh, 64,
                       socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + payload


def pseudo(src, dst, proto, length):
    if ':' in src:
        return (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
                struct.pack('!IxxxB', length, proto))
    return socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!xBH', proto, length)


def udp_seg(src, dst, sport, dport, payload):
    """A UDP datagram with its checksum, without the IP header (to be fragmented)."""
    seg = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
    c = csum(pseudo(src, dst, 17, len(seg)) + seg) or 0xffff
    return seg[:6] + struct.pack('!H', c) + seg[8:]


def udp(src, dst, sport, dport, payload):
    return (ip6 if ':' in src else ip4)(src, dst, 17, udp_seg(src, dst, sport, dport, payload))


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b''):
    seg = struct.pack('!HHIIBBHHH', sport, dport, seq & 0xffffffff, ack & 0xffffffff, 5 << 4, flags,
                      65535, 0, 0) + payload
    c = csum(pseudo(src, dst, 6, len(seg)) + seg)
    seg = seg[:16] + struct.pack('!H', c) + seg[18:]
    return (ip6 if ':' in src else ip4)(src, dst, 6, seg)


def eth(packet):
    etype = 0x86dd if packet[0] >> 4 == 6 else 0x0800
    return b'\0' * 12 + struct.pack('!H', etype) + packet


class Pcap:
    def __init__(self, path, snaplen=262144, linktype=LINKTYPE_ETHERNET):
        self.f = open(path, 'wb')
        self.f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, snaplen, linktype))
        self.n = 0

    def frame(self, data, caplen=None, length=None, ts=None):
        self.n += 1
        if ts is None:
            ts = T0 + self.n / 1000.0
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        self.f.write(struct.pack('<IIII', sec, usec, len(data) if caplen is None else caplen,
                                 len(data) if length is None else length))
        self.f.write(data)

    def raw(self, data):
        self.f.write(data)

    def close(self):
        self.f.close()


def tcp_connection(p, msgs, src='127.0.0.1', dst='127.0.0.1', sport=40001, dport=5060, mss=1400):
    """A TCP connection from src to dst carrying the byte strings of msgs, in segments of mss."""
    cseq, sseq = 1000, 5000
    p.frame(eth(tcp(src, dst, sport, dport, cseq, 0, 0x02)))
    p.frame(eth(tcp(dst, src, dport, sport, sseq, cseq + 1, 0x12)))
    cseq += 1
    sseq += 1
    p.frame(eth(tcp(src, dst, sport, dport, cseq, sseq, 0x10)))
    data = b''.join(msgs)
    for i in range(0, len(data), mss):
        chunk = data[i:i + mss]
        p.frame(eth(tcp(src, dst, sport, dport, cseq, sseq, 0x18, chunk)))
        cseq += len(chunk)
        p.frame(eth(tcp(dst, src, dport, sport, sseq, cseq, 0x10)))
    p.frame(eth(tcp(src, dst, sport, dport, cseq, sseq, 0x11)))
    p.frame(eth(tcp(dst, src, dport, sport, sseq, cseq + 1, 0x11)))
    p.frame(eth(tcp(src, dst, sport, dport, cseq + 1, sseq + 1, 0x10)))


def sip(method='MESSAGE', frm=b'<sip:+447700900151@127.0.0.1>;tag=h1', to=(b'<sip:02079460151@127.0.0.1>',),
        extra=b'', body=b'', clen=None, transport=b'UDP', cid=b'hostile-1@127.0.0.1', ctype=b'text/plain'):
    h = [method.encode() + b' sip:02079460151@127.0.0.1:5060 SIP/2.0',
         b'Via: SIP/2.0/' + transport + b' 127.0.0.1:5061;branch=z9hG4bK-h1',
         b'From: ' + frm]
    h += [b'To: ' + t for t in to]
    h += [b'Call-ID: ' + cid, b'CSeq: 1 ' + method.encode(), b'Max-Forwards: 70']
    if extra:
        h.append(extra)
    if body:
        h.append(b'Content-Type: ' + ctype)
    h.append(b'Content-Length: ' + (str(len(body)).encode() if clen is None else clen))
    return b'\r\n'.join(h) + b'\r\n\r\n' + body


def good(n=1):
    return sip('OPTIONS', cid=b'good-%d@127.0.0.1' % n, frm=b'<sip:+447700900152@127.0.0.1>;tag=g%d' % n)


def udp_frame(msg, src='127.0.0.1', dst='127.0.0.1', sport=5061, dport=5060):
    return eth(udp(src, dst, sport, dport, msg))


def hostile(d):
    os.makedirs(d, exist_ok=True)

    p = Pcap(os.path.join(d, 'caplen-gt-len.pcap'))
    p.frame(udp_frame(good(1)))
    f = udp_frame(good(2))
    p.frame(f[:120], caplen=120, length=100)
    p.frame(udp_frame(good(3)))
    p.close()

    p = Pcap(os.path.join(d, 'big-snaplen.pcap'), snaplen=0x7fffffff)
    p.frame(udp_frame(good(1)))
    big = udp_frame(good(2))
    p.frame(big + b'\0' * (300000 - len(big)))
    p.frame(udp_frame(good(3)))
    p.close()

    p = Pcap(os.path.join(d, 'truncated-last.pcap'))
    for i in (1, 2):
        p.frame(udp_frame(good(i)))
    f = udp_frame(good(3))
    p.raw(struct.pack('<IIII', T0 + 1, 0, len(f), len(f)) + f[:len(f) // 2])
    p.close()

    with open(os.path.join(d, 'pcapng-16m.pcapng'), 'wb') as f:
        def block(btype, body):
            body += b'\0' * (-len(body) % 4)
            n = 12 + len(body)
            return struct.pack('<II', btype, n) + body + struct.pack('<I', n)
        f.write(block(0x0a0d0d0a, struct.pack('<IHHq', 0x1a2b3c4d, 1, 0, -1)))
        f.write(block(0x00000001, struct.pack('<HHI', LINKTYPE_ETHERNET, 0, 262144)))
        fr = udp_frame(good(1))
        ts = T0 * 1000000
        f.write(block(0x00000006, struct.pack('<IIIII', 0, ts >> 32, ts & 0xffffffff, len(fr), len(fr)) + fr))
        fr = udp_frame(good(2))
        # an EPB that says it is 16 MiB long; the file ends after 64 bytes of it
        f.write(struct.pack('<II', 0x00000006, 16 << 20) +
                struct.pack('<IIIII', 0, ts >> 32, ts & 0xffffffff, 16 << 20, 16 << 20) + fr[:36])

    body = b'Call me on 07700 900153, 40 bytes long'
    body += b'.' * (38 - len(body)) + b'\r\n'
    cl = sip(body=body, clen=b'4294967328')
    p = Pcap(os.path.join(d, 'cl-overflow-udp.pcap'))
    p.frame(udp_frame(cl))
    p.close()
    p = Pcap(os.path.join(d, 'cl-overflow-tcp.pcap'))
    tcp_connection(p, [sip(body=body, clen=b'4294967328', transport=b'TCP'),
                       sip('OPTIONS', transport=b'TCP', cid=b'good-after@127.0.0.1')])
    p.close()

    p = Pcap(os.path.join(d, 'lone-backslash.pcap'))
    p.frame(udp_frame(sip(frm=b'"Alice \\" <sip:+447700900154@127.0.0.1>;tag=h2', body=b'hi', cid=b'bs-1@127.0.0.1')))
    p.frame(udp_frame(sip(extra=b'P-Asserted-Identity: "\\" <sip:+447700900155@127.0.0.1>', body=b'hi',
                          cid=b'bs-2@127.0.0.1')))
    p.close()

    p = Pcap(os.path.join(d, 'two-to-empty-tag.pcap'))
    p.frame(udp_frame(sip(to=(b'<sip:02079460156@127.0.0.1>;tag=', b'<sip:02079460157@127.0.0.1>;tag='),
                          body=b'hi')))
    p.close()

    p = Pcap(os.path.join(d, 'big-header-udp.pcap'))
    p.frame(udp_frame(sip('OPTIONS', extra=b'Subject: ' + b'A' * 65000)))
    p.close()

    p = Pcap(os.path.join(d, 'big-header-tcp.pcap'))
    tcp_connection(p, [sip('OPTIONS', extra=b'Subject: ' + b'A' * 65536, transport=b'TCP'),
                       sip('OPTIONS', transport=b'TCP', cid=b'good-after@127.0.0.1')])
    p.close()


def main(argv):
    if len(argv) >= 3 and argv[1] == 'udp':
        p = Pcap(argv[2])
        for name in argv[3:]:
            with open(name, 'rb') as f:
                p.frame(udp_frame(f.read()))
        p.close()
    elif len(argv) == 3 and argv[1] == 'hostile':
        hostile(argv[2])
    elif len(argv) == 5 and argv[1] == 'send':
        s = socket.socket(socket.AF_INET6 if ':' in argv[2] else socket.AF_INET, socket.SOCK_DGRAM)
        with open(argv[4], 'rb') as f:
            s.sendto(f.read(), (argv[2], int(argv[3])))
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main(sys.argv)
