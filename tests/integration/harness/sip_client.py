"""A deliberately small SIP client over UDP, for sending what real phones
would not: malformed or hostile INVITEs, floods. It speaks just enough SIP
to get a final response and clean up (ACK, CANCEL, BYE). Loopback only."""

import random
import socket
import time
import uuid


class Response:
    def __init__(self, data):
        text = data.decode("utf-8", "replace")
        head, _, self.body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.setdefault(name.strip().lower(), []).append(value.strip())

    def header(self, name):
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def __repr__(self):
        return f"<{self.status} {self.reason}>"


class SipClient:
    def __init__(self, host="127.0.0.1"):
        self.host = host
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()

    def _request(self, method, uri, call_id, cseq, from_tag, to_header, branch, body=b"",
                 content_type=None, extra=()):
        headers = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.host}:{self.port};branch={branch};rport",
            f"From: <sip:tester@{self.host}:{self.port}>;tag={from_tag}",
            f"To: {to_header}",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:tester@{self.host}:{self.port}>",
            "Max-Forwards: 70",
            *extra,
        ]
        if content_type:
            headers.append(f"Content-Type: {content_type}")
        headers.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(headers) + "\r\n\r\n").encode() + body

    def send(self, data, target):
        self.sock.sendto(data, target)

    def receive(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data, _ = self.sock.recvfrom(65535)
            return Response(data)
        except socket.timeout:
            return None

    def invite(self, host, port, user="bob", body=None, content_type="application/sdp",
               timeout=5.0, extra=(), hang_up=True, uri=None):
        """INVITE and wait for a final response. A failure is ACKed; a
        success is ACKed and ended with BYE (unless hang_up is False).
        Returns every response received, in order. The Request-URI is
        sip:USER@HOST:PORT unless uri gives another."""
        uri = uri or f"sip:{user}@{host}:{port}"
        call_id = f"{uuid.uuid4()}@{self.host}"
        from_tag = f"{random.getrandbits(32):x}"
        branch = f"z9hG4bK{random.getrandbits(48):x}"
        payload = body.encode() if isinstance(body, str) else (body or b"")
        self.send(self._request("INVITE", uri, call_id, 1, from_tag, f"<{uri}>", branch, payload,
                                content_type if payload else None, extra), (host, port))
        responses = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.receive(max(0.01, deadline - time.monotonic()))
            if r is None:
                break
            if r.header("call-id") != call_id:
                continue
            responses.append(r)
            if r.status >= 200:
                to = r.header("to")
                if r.status >= 300:
                    # Same branch: the ACK belongs to the INVITE transaction.
                    self.send(self._request("ACK", uri, call_id, 1, from_tag, to, branch), (host, port))
                else:
                    ack_branch = f"z9hG4bK{random.getrandbits(48):x}"
                    self.send(self._request("ACK", uri, call_id, 1, from_tag, to, ack_branch), (host, port))
                    if hang_up:
                        bye_branch = f"z9hG4bK{random.getrandbits(48):x}"
                        self.send(self._request("BYE", uri, call_id, 2, from_tag, to, bye_branch), (host, port))
                break
        self.last = dict(uri=uri, call_id=call_id, from_tag=from_tag, branch=branch, target=(host, port),
                         to=next((r.header("to") for r in responses if 200 <= r.status < 300), None))
        return responses

    def request(self, method, host, port, user="bob", timeout=5.0, extra=(), body=b"",
                content_type=None):
        """One request outside any dialog (OPTIONS, REFER, MESSAGE...);
        returns its final response, or None after the timeout."""
        uri = f"sip:{user}@{host}:{port}"
        call_id = f"{uuid.uuid4()}@{self.host}"
        branch = f"z9hG4bK{random.getrandbits(48):x}"
        payload = body.encode() if isinstance(body, str) else body
        self.send(self._request(method, uri, call_id, 1, f"{random.getrandbits(32):x}", f"<{uri}>",
                                branch, payload, content_type, extra), (host, port))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.receive(max(0.01, deadline - time.monotonic()))
            if r is None:
                return None
            if r.header("call-id") == call_id and r.status >= 200:
                return r
        return None

    def bye(self):
        """End the last call, answered and left up (hang_up=False)."""
        last = self.last
        branch = f"z9hG4bK{random.getrandbits(48):x}"
        self.send(self._request("BYE", last["uri"], last["call_id"], 2, last["from_tag"], last["to"], branch),
                  last["target"])

    def cancel(self):
        """CANCEL the last INVITE (still ringing)."""
        last = self.last
        self.send(self._request("CANCEL", last["uri"], last["call_id"], 1, last["from_tag"],
                                f"<{last['uri']}>", last["branch"]), last["target"])


def sdp(address="127.0.0.1", port=40000, payloads="0", rtpmaps=("0 PCMU/8000",), attributes=(),
        proto="RTP/AVP", media="audio"):
    """An SDP body; every part can be made wrong on purpose."""
    lines = ["v=0", f"o=- 1 1 IN IP4 {address}", "s=-", f"c=IN IP4 {address}", "t=0 0",
             f"m={media} {port} {proto} {payloads}"]
    lines += [f"a=rtpmap:{m}" for m in rtpmaps]
    lines += [f"a={a}" for a in attributes]
    return "\r\n".join(lines) + "\r\n"


def bind_rtp_pair():
    """Two UDP sockets on loopback for a raw RTP peer: an even port for RTP
    and the next one for RTCP (RFC 3550), both free."""
    from .core import free_port
    for _ in range(50):
        port = free_port() & ~1
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            rtp.bind(("127.0.0.1", port))
            rtcp.bind(("127.0.0.1", port + 1))
            return rtp, rtcp
        except OSError:
            rtp.close()
            rtcp.close()
    raise RuntimeError("no free RTP port pair on loopback")
