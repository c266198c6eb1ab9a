#!/usr/bin/env python3
"""Reads captures and cdrmin's CSV output for tests/sip.sh, independently of
cdrmin (python3 standard library only).

  sipcount.py messages PCAP   one line per SIP message in the capture, in the
                              order their last frame comes, tab-separated:
                                time transport family src sport dst dport kind
                                call-id cseq-method reassembled frame
                              (kind: the method, or the status code; family 4
                              or 6; reassembled 1 when the datagram was rebuilt
                              from IP fragments; frame: the 1-based number of
                              the frame that completed the message). On stderr:
                              "frames=N fragments=N reassembled=N".
  sipcount.py calls PCAP      one line per call (a Call-ID whose first message
                              is an INVITE), tab-separated:
                                call-id final-status end-reason hangup-by duration
                              as RFC 3261 dialogs end: bye (hangup-by the side
                              that sent it), rejected (a final response >= 300),
                              cancel; duration = BYE - first 2xx, 3 decimals.
  sipcount.py cols CSV NAME...  the named columns of a CSV file with a header
                              line, tab-separated, one line per record.

pcap only (not pcapng), either byte order, micro- or nanosecond stamps; link
types Ethernet (VLAN tags), Linux cooked v1 and v2, BSD loopback, raw IP.
IPv4 and IPv6 fragments are reassembled; TCP streams are put in sequence
order and cut into messages by Content-Length.
"""
import csv
import re
import signal
import socket
import struct
import sys

START = re.compile(rb'^(?:([!-~]+) [^ \r\n]+ SIP/2\.0\r?\n|SIP/2\.0 ([0-9]{3}) )')


def read_pcap(path):
    with open(path, 'rb') as f:
        data = f.read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        sys.exit('%s: not a pcap file' % path)
    nano = magic in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d')
    linktype = struct.unpack(e + 'I', data[20:24])[0] & 0x0fffffff
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(e + 'IIII', data[off:off + 16])
        off += 16
        if off + caplen > len(data):
            break
        yield linktype, sec + frac / (1e9 if nano else 1e6), data[off:off + caplen]
        off += caplen


def network(linktype, frame):
    """(ethertype-ish family, packet) of a frame, or None."""
    if linktype == 1:
        off, etype = 14, struct.unpack('!H', frame[12:14])[0]
        while etype in (0x8100, 0x88a8, 0x9100):
            etype = struct.unpack('!H', frame[off + 2:off + 4])[0]
            off += 4
        return {0x0800: 4, 0x86dd: 6}.get(etype), frame[off:]
    if linktype == 113:
        etype = struct.unpack('!H', frame[14:16])[0]
        return {0x0800: 4, 0x86dd: 6}.get(etype), frame[16:]
    if linktype == 276:
        etype = struct.unpack('!H', frame[0:2])[0]
        return {0x0800: 4, 0x86dd: 6}.get(etype), frame[20:]
    if linktype in (0, 108):
        fam = struct.unpack('<I', frame[:4])[0]
        if fam > 0xffff:
            fam = struct.unpack('>I', frame[:4])[0]
        return (4 if fam == 2 else 6 if fam in (10, 24, 28, 30) else None), frame[4:]
    if linktype in (101, 228, 229, 12, 14):
        return (frame[0] >> 4 if frame else None), frame
    return None, b''


class Reader:
    def __init__(self):
        self.frames = self.fragments = self.reassembled = 0
        self.frags = {}
        self.streams = {}
        self.out = []

    def ip(self, fam, pkt, ts):
        if fam == 4:
            if len(pkt) < 20:
                return
            ihl = (pkt[0] & 15) * 4
            total = struct.unpack('!H', pkt[2:4])[0]
            ident, ff = struct.unpack('!HH', pkt[4:8])
            proto = pkt[9]
            src, dst = socket.inet_ntoa(pkt[12:16]), socket.inet_ntoa(pkt[16:20])
            payload = pkt[ihl:total]
            mf, foff = ff & 0x2000, (ff & 0x1fff) * 8
            if mf or foff:
                self.fragments += 1
                payload = self.defrag((4, src, dst, ident, proto), foff, mf, payload)
                if payload is None:
                    return
                self.transport(4, proto, src, dst, payload, ts, 1)
                return
            self.transport(4, proto, src, dst, payload, ts, 0)
        elif fam == 6:
            if len(pkt) < 40:
                return
            plen = struct.unpack('!H', pkt[4:6])[0]
            nh = pkt[6]
            src = socket.inet_ntop(socket.AF_INET6, pkt[8:24])
            dst = socket.inet_ntop(socket.AF_INET6, pkt[24:40])
            rest = pkt[40:40 + plen]
            while nh in (0, 43, 60, 44):
                if nh == 44:
                    nnh, _, fo, ident = struct.unpack('!BBHI', rest[:8])
                    self.fragments += 1
                    payload = self.defrag((6, src, dst, ident), fo & 0xfff8, fo & 1, rest[8:], nnh)
                    if payload is None:
                        return
                    nh, rest = payload
                    self.transport(6, nh, src, dst, rest, ts, 1)
                    return
                nh, hl = rest[0], (rest[1] + 1) * 8
                rest = rest[hl:]
            self.transport(6, nh, src, dst, rest, ts, 0)

    def defrag(self, key, off, more, data, nh=None):
        e = self.frags.setdefault(key, {'parts': {}, 'end': None, 'nh': None})
        e['parts'][off] = data
        if off == 0 and nh is not None:
            e['nh'] = nh
        if not more:
            e['end'] = off + len(data)
        if e['end'] is None:
            return None
        buf, pos = b'', 0
        while pos < e['end']:
            part = e['parts'].get(pos)
            if part is None:
                return None
            buf += part
            pos += len(part)
        del self.frags[key]
        self.reassembled += 1
        return (e['nh'], buf) if key[0] == 6 else buf

    def transport(self, fam, proto, src, dst, seg, ts, frag):
        if proto == 17 and len(seg) >= 8:
            sport, dport, ulen = struct.unpack('!HHH', seg[:6])
            payload = seg[8:ulen] if ulen >= 8 else seg[8:]
            if START.match(payload):
                self.emit(ts, 'udp', fam, src, sport, dst, dport, payload, frag)
        elif proto == 6 and len(seg) >= 20:
            sport, dport, seq = struct.unpack('!HHI', seg[:8])
            flags = seg[13]
            payload = seg[(seg[12] >> 4) * 4:]
            key = (fam, src, sport, dst, dport)
            st = self.streams.get(key)
            if flags & 0x02:  # SYN
                self.streams[key] = st = {'next': (seq + 1) & 0xffffffff, 'held': {}, 'buf': b''}
                return
            if st is None:
                st = self.streams[key] = {'next': seq, 'held': {}, 'buf': b''}
            if payload:
                st['held'][seq] = payload
            while True:
                progressed = False
                for s in list(st['held']):
                    d = st['held'][s]
                    rel = (st['next'] - s) & 0xffffffff  # how far the next byte is past s
                    if rel >= 0x80000000:
                        continue  # a later segment: held
                    del st['held'][s]
                    if rel < len(d):
                        st['buf'] += d[rel:]
                        st['next'] = (s + len(d)) & 0xffffffff
                    progressed = True
                if not progressed:
                    break
            self.frame_tcp(st, ts, fam, src, sport, dst, dport)

    def frame_tcp(self, st, ts, fam, src, sport, dst, dport):
        buf = st['buf']
        while True:
            while buf[:2] == b'\r\n':
                buf = buf[2:]
            end = buf.find(b'\r\n\r\n')
            if end < 0:
                break
            m = re.search(rb'\r\n(?:Content-Length|l)[ \t]*:[ \t]*([0-9]+)', buf[:end + 2], re.I)
            clen = int(m.group(1)) if m else 0
            total = end + 4 + clen
            if len(buf) < total:
                break
            msg, buf = buf[:total], buf[total:]
            if START.match(msg):
                self.emit(ts, 'tcp', fam, src, sport, dst, dport, msg, 0)
        st['buf'] = buf

    def emit(self, ts, tr, fam, src, sport, dst, dport, msg, frag):
        m = START.match(msg)
        kind = (m.group(1) or m.group(2)).decode('latin-1')
        hdr = msg.split(b'\r\n\r\n', 1)[0]
        cid = re.search(rb'\r\n(?:Call-ID|i)[ \t]*:[ \t]*([^\r\n]*)', hdr, re.I)
        cseq = re.search(rb'\r\nCSeq[ \t]*:[ \t]*[0-9]+[ \t]+([^\r\n \t]*)', hdr, re.I)
        self.out.append(('%.6f' % ts, tr, str(fam), src, str(sport), dst, str(dport), kind,
                         cid.group(1).decode('latin-1').strip() if cid else '',
                         cseq.group(1).decode('latin-1') if cseq else '', str(frag), str(self.frames)))

    def run(self, path):
        for lt, ts, frame in read_pcap(path):
            self.frames += 1
            fam, pkt = network(lt, frame)
            if fam in (4, 6):
                self.ip(fam, pkt, ts)
        return self.out


def calls(msgs):
    res = {}
    order = []
    for ts, tr, fam, src, sport, dst, dport, kind, cid, cm, _, _ in msgs:
        ts = float(ts)
        c = res.get(cid)
        if c is None:
            if kind != 'INVITE':
                continue
            c = res[cid] = {'caller': (src, sport), 'final': '', 'end': '', 'by': '', 'answer': None,
                            'bye': None}
            order.append(cid)
        if c['end']:
            continue
        if kind.isdigit() and cm == 'INVITE':
            code = int(kind)
            if 200 <= code < 300 and c['answer'] is None:
                c['answer'], c['final'] = ts, kind
            elif code >= 300 and not c['final']:
                c['final'], c['end'] = kind, ('cancel' if code == 487 else 'rejected')
        elif kind == 'BYE':
            c['end'], c['bye'] = 'bye', ts
            c['by'] = 'caller' if (src, sport) == c['caller'] else 'callee'
        elif kind == 'CANCEL':
            c['end'], c['by'] = 'cancel', 'caller'
    for cid in order:
        c = res[cid]
        dur = '%.3f' % (c['bye'] - c['answer']) if c['bye'] is not None and c['answer'] is not None else ''
        print('\t'.join((cid, c['final'], c['end'] or 'eof', c['by'], dur)))


def cols(path, names):
    with open(path, newline='', encoding='utf-8', errors='surrogateescape') as f:
        r = csv.reader(f)
        head = next(r, None)
        if head is None:
            return
        idx = []
        for n in names:
            if n not in head:
                sys.exit('%s: no column %s' % (path, n))
            idx.append(head.index(n))
        for row in r:
            print('\t'.join(row[i] if i < len(row) else '' for i in idx))


def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # a reader that stops early (grep -q)
    if len(argv) == 3 and argv[1] in ('messages', 'calls'):
        rd = Reader()
        out = rd.run(argv[2])
        if argv[1] == 'messages':
            for line in out:
                print('\t'.join(line))
            print('frames=%d fragments=%d reassembled=%d' % (rd.frames, rd.fragments, rd.reassembled),
                  file=sys.stderr)
        else:
            calls(out)
    elif len(argv) >= 4 and argv[1] == 'cols':
        cols(argv[2], argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main(sys.argv)
