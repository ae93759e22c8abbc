"""A packet capture on the loopback interface, for tests that must see what
went over the wire (is the RTP payload encrypted?). Needs root (AF_PACKET),
which the suite has; captures only UDP to one port, only while it runs.

    with UdpCapture(port) as cap:
        time.sleep(1)
    cap.payloads          # UDP payloads (bytes), in arrival order
"""

import socket
import struct
import threading

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


class UdpCapture:
    def __init__(self, port, interface="lo"):
        self.port = port
        self.interface = interface
        self.payloads = []
        self._stop = threading.Event()
        self._sock = None
        self._thread = None

    def __enter__(self):
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._sock.bind((self.interface, 0))
        self._sock.settimeout(0.05)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()
        return False

    def _run(self):
        while not self._stop.is_set():
            try:
                frame, addr = self._sock.recvfrom(65535)
            except socket.timeout:
                continue
            # Loopback shows each packet leaving and arriving: keep one.
            if addr[2] == PACKET_OUTGOING:
                continue
            payload = self._udp_payload(frame[14:])
            if payload is not None:
                self.payloads.append(payload)

    def _udp_payload(self, packet):
        if len(packet) < 20:
            return None
        version = packet[0] >> 4
        if version == 4:
            header = (packet[0] & 0x0F) * 4
            if packet[9] != socket.IPPROTO_UDP:
                return None
        elif version == 6:
            header = 40
            if packet[6] != socket.IPPROTO_UDP:
                return None
        else:
            return None
        udp = packet[header:header + 8]
        if len(udp) < 8:
            return None
        _, dst, length, _ = struct.unpack("!HHHH", udp)
        if dst != self.port:
            return None
        return bytes(packet[header + 8:header + length])
