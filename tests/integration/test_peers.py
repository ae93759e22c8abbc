"""Smoke tests of the SIP peers in the harness (Kamailio, sipp, test certificates),
without dialtoned: they prove the tools that the registration and call tests rely on."""

import os
import socket
import ssl
import subprocess
import time

import pytest

from harness import Harness, Kamailio, Sipp, unique_port
from harness.sipp import header

pytestmark = pytest.mark.timeout(60)

USERS = {"alice": "secret", "bob": "b0b-pass"}


def sip_register(port, user="alice", expires=60, call_id=None, cseq=1, sock=None,
                 transport="udp", timeout=2):
    """Sends one REGISTER without credentials from a Python socket; returns
    the first response's text (None on timeout)."""
    own = sock is None
    if own:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
    lport = sock.getsockname()[1]
    call_id = call_id or f"py-{time.monotonic_ns()}@127.0.0.1"
    msg = (f"REGISTER sip:127.0.0.1:{port} SIP/2.0\r\n"
           f"Via: SIP/2.0/{transport.upper()} 127.0.0.1:{lport}"
           f";branch=z9hG4bK{time.monotonic_ns()};rport\r\n"
           "Max-Forwards: 70\r\n"
           f"From: <sip:{user}@127.0.0.1>;tag=py{cseq}\r\n"
           f"To: <sip:{user}@127.0.0.1>\r\n"
           f"Call-ID: {call_id}\r\n"
           f"CSeq: {cseq} REGISTER\r\n"
           f"Contact: <sip:{user}@127.0.0.1:{lport};transport={transport}>\r\n"
           f"Expires: {expires}\r\n"
           "Content-Length: 0\r\n\r\n").encode()
    try:
        if transport == "udp":
            sock.sendto(msg, ("127.0.0.1", port))
            return sock.recv(65535).decode()
        sock.sendall(msg)
        return sock.recv(65535).decode()
    except socket.timeout:
        return None
    finally:
        if own:
            sock.close()


def register(harness, k, user, password, transport="udp", name=None, refused=False, port=None,
             **keys):
    scenario = "uac-register-auth-refused.xml" if refused else "uac-register-auth.xml"
    s = Sipp(harness, scenario, remote=k, transport=transport, port=port,
             name=name or f"reg-{user}-{transport}",
             keys={"user": user, "password": password, **keys})
    assert s.wait() == 0, s.report()
    return s


def test_register_udp_and_tcp(harness):
    k = Kamailio(harness, users=USERS)
    assert k.domain == k.realm == "127.0.0.1"
    assert k.udp_port == k.tcp_port and k.tls_port is None
    assert k.uri("udp") == f"sip:127.0.0.1:{k.udp_port}"
    assert k.uri("tcp") == f"sip:127.0.0.1:{k.udp_port};transport=tcp"

    udp_port = unique_port()
    for transport in ("udp", "tcp"):
        s = register(harness, k, "alice", "secret", transport,
                     port=udp_port if transport == "udp" else None)
        assert s.responses() == [401, 200]
        assert s.successful == 1 and s.failed == 0

    contacts = k.contacts("alice")
    assert sorted(c["transport"] for c in contacts) == ["tcp", "udp"], contacts
    for c in contacts:
        assert c["contact"].startswith("sip:alice@127.0.0.1:")
        assert 3590 <= c["expires"] <= 3600
        assert c["user_agent"] == "sipp-dialtone-test"
    tcp = next(c for c in contacts if c["transport"] == "tcp")
    assert tcp["received"].startswith("sip:127.0.0.1:")  # reached through its connection
    assert tcp["socket"] == f"tcp:127.0.0.1:{k.tcp_port}"
    assert set(k.all_contacts()) == {"alice"}
    assert k.contacts("bob") == []

    regs = k.register_requests("alice")
    assert [(r["transport"], r["auth"], r["code"]) for r in regs] == [
        ("udp", "no", 401), ("udp", "yes", 200), ("tcp", "no", 401), ("tcp", "yes", 200)]
    assert all(r["expires"] == 3600 and r["user"] == "alice" for r in regs)
    assert regs[0]["callid"] == regs[1]["callid"] and regs[0]["cseq"] == "1"
    udp = next(c for c in contacts if c["transport"] == "udp")
    assert regs[1]["contact"] == f"<{udp['contact']}>"
    assert udp["contact"] == f"sip:alice@127.0.0.1:{udp_port};transport=UDP"

    # Unregister (Expires: 0) removes the contact at once.
    register(harness, k, "alice", "secret", "udp", port=udp_port, expires=0)
    k.wait_contacts("alice", lambda cs: [c["transport"] for c in cs] == ["tcp"], timeout=5)


def test_wrong_password_is_challenged_again(harness):
    k = Kamailio(harness, users=USERS)
    s = register(harness, k, "alice", "not-the-password", refused=True)
    assert s.responses() == [401, 401]
    assert k.contacts("alice") == []
    regs = k.register_requests("alice")
    assert [(r["auth"], r["code"]) for r in regs] == [("no", 401), ("yes", 401)]
    # An unknown user is challenged the same way (no user enumeration).
    s = register(harness, k, "mallory", "whatever", refused=True)
    assert s.responses() == [401, 401]


def test_forbidden_user_gets_403_after_auth(harness):
    k = Kamailio(harness, users={**USERS, "eve": "eve-pass"}, forbidden_users=["eve"])
    s = register(harness, k, "eve", "eve-pass", refused=True)
    assert s.responses() == [401, 403]
    assert [r["code"] for r in k.register_requests("eve")] == [401, 403]
    assert k.contacts("eve") == []
    k.set_forbidden("eve", False)
    register(harness, k, "eve", "eve-pass")
    assert len(k.contacts("eve")) == 1


def test_min_and_max_expires(harness):
    k = Kamailio(harness, users=USERS, min_expires=60, max_expires=120)
    s = register(harness, k, "alice", "secret", refused=True, expires=10)
    assert s.responses() == [401, 423]
    reply = s.received()[-1]
    assert reply.startswith("SIP/2.0 423 Interval Too Brief")
    assert header(reply, "Min-Expires") == ["60"]
    assert k.contacts("alice") == []
    assert [r["code"] for r in k.register_requests("alice")] == [401, 423]

    register(harness, k, "alice", "secret", expires=3600)
    (contact,) = k.contacts("alice")
    assert 110 <= contact["expires"] <= 120  # capped at max_expires


def openssl_verify(k, *extra):
    return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{k.tls_port}",
                           "-CAfile", k.ca_file, "-verify_return_error", "-brief", *extra],
                          input="", capture_output=True, text=True, timeout=20)


@pytest.mark.parametrize("cert", ["good", "wrong-host", "untrusted"])
def test_tls_certificates(harness, cert):
    k = Kamailio(harness, users=USERS, tls=True, cert=cert)
    assert k.uri("tls") == f"sips:127.0.0.1:{k.tls_port}"
    assert k.uri("tls", sips=False) == f"sip:127.0.0.1:{k.tls_port};transport=tls"
    by_name = openssl_verify(k, "-verify_hostname", "localhost")
    by_ip = openssl_verify(k, "-verify_ip", "127.0.0.1")
    # Without verification the handshake works: a failure below is the certificate's.
    plain = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{k.tls_port}",
                            "-brief"], input="", capture_output=True, text=True, timeout=20)
    assert plain.returncode == 0, plain.stderr
    if cert == "good":
        assert by_name.returncode == 0, by_name.stderr
        assert by_ip.returncode == 0, by_ip.stderr
        # SIP over TLS, verified the way a client should.
        ctx = ssl.create_default_context(cafile=str(k.ca_file))
        with socket.create_connection(("127.0.0.1", k.tls_port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                reply = sip_register(k.tls_port, sock=tls, transport="tls")
        assert reply and reply.startswith("SIP/2.0 401"), reply
        (req,) = k.register_requests("alice")
        assert req["transport"] == "tls" and req["code"] == 401
    elif cert == "wrong-host":
        assert by_name.returncode != 0 and "hostname mismatch" in by_name.stderr
        assert by_ip.returncode != 0 and "IP address mismatch" in by_ip.stderr
    else:
        for result in (by_name, by_ip):
            assert result.returncode != 0
            assert "self-signed certificate in certificate chain" in result.stderr


def test_stop_and_start_on_the_same_ports(harness):
    k = Kamailio(harness, users=USERS)
    ports = (k.udp_port, k.tcp_port)
    register(harness, k, "alice", "secret")
    assert len(k.contacts("alice")) == 1

    k.stop()
    assert not k.alive()
    assert sip_register(k.udp_port, timeout=0.5) is None  # nobody answers
    mark = k.mark()
    k.start()
    assert (k.udp_port, k.tcp_port) == ports
    assert k.contacts("alice") == []  # usrloc is in memory only
    register(harness, k, "alice", "secret", "tcp")
    assert [r["code"] for r in k.register_requests("alice", since=mark)] == [401, 200]
    assert len(k.register_requests("alice")) == 4


def test_call_through_the_proxy(harness):
    """bob registers from a port where a sipp UAS then answers; alice (407
    challenged) calls him; ACK and BYE follow the Record-Route."""
    k = Kamailio(harness, users=USERS)
    bob_port = unique_port()
    s = Sipp(harness, "uac-register-auth.xml", remote=k, port=bob_port, name="bob-register",
             keys={"user": "bob", "password": USERS["bob"]})
    assert s.wait() == 0, s.report()
    callee = Sipp.uas(harness, "uas-answer.xml", port=bob_port, calls=1, name="bob", timeout=20)
    caller = Sipp(harness, "uac-invite-auth.xml", remote=k, service="bob", name="alice",
                  keys={"user": "alice", "password": "secret"}, args=["-d", "100"])
    assert caller.wait() == 0, caller.report()
    assert callee.wait() == 0, callee.report()
    assert [m.split()[0] for m in callee.received()] == ["INVITE", "ACK", "BYE"]
    invite = callee.received()[0]
    assert len(header(invite, "Record-Route")) == 1
    methods = [(r["method"], r["auth"], r["code"]) for r in k.requests() if r["from"] == "alice"]
    assert methods[:2] == [("INVITE", "no", 407), ("INVITE", "yes", None)]
    assert [m for m, _, _ in methods[2:]] == ["ACK", "BYE"]

    # Calls to unknown or unregistered users.
    r = Sipp(harness, "uac-invite-auth.xml", remote=k, service="nobody", name="to-nobody",
             keys={"user": "alice", "password": "secret"})
    r.wait()
    assert r.responses()[-1] == 404
    k.remove_contacts("bob")
    r = Sipp(harness, "uac-invite-auth.xml", remote=k, service="bob", name="to-absent-bob",
             keys={"user": "alice", "password": "secret"})
    r.wait()
    assert r.responses()[-1] == 480


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_sipp_register_replier(harness, transport):
    r = Sipp.register_replier(harness, 423, headers=["Min-Expires: 120"], transport=transport)
    assert r.uri("alice").startswith(f"sip:alice@127.0.0.1:{r.port}")
    if transport == "udp":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
    else:
        sock = socket.create_connection(("127.0.0.1", r.port))
    sock.settimeout(3)
    with sock:
        # Same Call-ID, back to back: each REGISTER gets its answer.
        replies = [sip_register(r.port, call_id="same@127.0.0.1", cseq=i, sock=sock,
                                transport=transport) for i in (1, 2, 3)]
    for reply in replies:
        assert reply and reply.startswith("SIP/2.0 423 Interval Too Brief"), replies
        assert header(reply, "Min-Expires") == ["120"]
    wait = time.monotonic() + 3
    while len(r.requests("REGISTER")) < 3 and time.monotonic() < wait:
        time.sleep(0.05)
    assert len(r.requests("REGISTER")) == 3
    assert r.stop() == 0
    assert r.failed == 0

    silent = Sipp.uas(harness, "uas-register-silent.xml", name="silent", transport="udp")
    assert sip_register(silent.port, timeout=0.5) is None
    assert len(silent.requests("REGISTER")) == 1


def pgroup_members(pgids):
    """PIDs of live processes whose process group is one of pgids."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgid = fields[0], int(fields[2])
        if pgid in pgids and state != "Z":
            found.append(int(entry))
    return found


def test_cleanup_leaves_nothing_running(tmp_path):
    h = Harness(tmp_path)
    try:
        k = Kamailio(h, users=USERS, tls=True)
        uas = Sipp.register_replier(h, 503, headers=["Retry-After: 5"])
        uac = Sipp(h, "uac-register-auth.xml", remote=k, keys={"user": "bob",
                                                               "password": USERS["bob"]})
        assert uac.wait() == 0, uac.report()
        pgids = {p.pid for p in h.processes if hasattr(p, "popen")}
        assert len(pgroup_members(pgids)) > 3  # kamailio forks its workers
        assert k.alive() and uas.alive()
    finally:
        h.cleanup()
    assert not any(p.alive() for p in h.processes)
    # SIGKILL is asynchronous: orphaned workers vanish within moments.
    deadline = time.monotonic() + 5
    while pgroup_members(pgids) and time.monotonic() < deadline:
        time.sleep(0.02)
    left = pgroup_members(pgids)
    assert left == [], [open(f"/proc/{p}/cmdline").read() for p in left]
