"""Unsolicited-call protection and rate limiting.

A stranger (a raw SIP client on 127.0.0.2, or on 127.0.0.1 from another
port than the registrar's) calling an account directly gets 403, and the
daemon makes nothing of it: no Call object, no InterfacesAdded, no history
row; its out-of-dialog REFER gets 403 too. Calls through Kamailio, the
account's registrar, ring: to the registered Contact (its key included),
to the phone's bare address (trusted by the packet's source), over UDP and
TCP; so does an INVITE replacing one of our dialogs, and any direct call
once allow-direct-calls is on. Past a source's budget requests get 503;
in a flood, refused INVITEs are held so that Sofia answers the rest
itself, while the daemon keeps answering D-Bus at once.
"""

import random
import re
import socket
import threading
import time
import uuid

from gi.repository import Gio, GLib

from harness import Kamailio, SipClient, Sipp, free_port, sdp
from harness.core import sanitized
from test_calls import CALL, answer, config, history, incoming, wait_state

ROOT = "/org/dialtone/Phone1"
ACCOUNT = "org.dialtone.Phone1.Account"
STRANGER = "127.0.0.2"  # Linux answers for all of 127.0.0.0/8 on lo


class ObjectsAdded:
    """Records ObjectManager.InterfacesAdded: every Call object the daemon makes."""

    def __init__(self, daemon):
        self.got = []
        self.conn = daemon.bus.connection
        self.sub = self.conn.signal_subscribe(None, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
                                              ROOT, None, Gio.DBusSignalFlags.NONE, self._on)

    def _on(self, conn, sender, path, iface, member, params):
        self.got.append(params.unpack())

    def calls(self):
        ctx = GLib.MainContext.default()
        while ctx.iteration(False):
            pass
        return [path for path, interfaces in self.got if CALL in interfaces]

    def close(self):
        self.conn.signal_unsubscribe(self.sub)


class Phone:
    """One dialtoned with two accounts: alice, registered at Kamailio, and
    lan, without a registrar; with tcp, a third, bob, registered at Kamailio
    over TCP."""

    def __init__(self, harness, transaction_timeout=4, tcp=False):
        self.k = Kamailio(harness, users={"alice": "alicepw", "bob": "bobpw", "carol": "carolpw"})
        self.d = harness.daemon("phone", config=config("pcmu").replace(
            "transaction-timeout=4", f"transaction-timeout={transaction_timeout}")).start()
        self.port = free_port()
        self.lan_port = free_port()
        self.d.add_account("alice", password="alicepw", address="sip:alice@127.0.0.1",
                           registrar=self.k.uri("udp"), local_address="127.0.0.1", local_port=self.port)
        # Through dialtonectl, as a user makes a LAN account.
        r = self.d.ctl("account", "add", "lan", "--address", "sip:lan@127.0.0.1", "--local-address",
                       "127.0.0.1", "--local-port", str(self.lan_port))
        assert r.returncode == 0, r
        if tcp:
            self.d.add_account("bob", password="bobpw", address="sip:bob@127.0.0.1", transport="tcp",
                               registrar=self.k.uri("tcp"), local_address="127.0.0.1")
            self.d.wait_account("bob", "registered")
        self.d.wait_account("alice", "registered")
        self.d.wait_account("lan", "unregistered", "no-registrar")
        self.contact = self.k.wait_contacts("alice")[0]["contact"]


def final(responses):
    return [r.status for r in responses if r.status >= 200]


def ring_and_cancel(phone, client):
    """The INVITE just sent rings: a Call in state incoming, which the
    caller then cancels."""
    call = incoming(phone.d)
    assert phone.d.get(call, CALL, "State") == "incoming"
    client.cancel()
    wait_state(phone.d, call, "terminated")
    return call


def test_strangers_get_403_and_make_no_call(harness):
    phone = Phone(harness, tcp=True)
    d = phone.d
    added = ObjectsAdded(d)
    stranger = SipClient(STRANGER)
    neighbour = SipClient("127.0.0.1")  # the registrar's host, another port

    assert final(stranger.invite("127.0.0.1", phone.port, user="alice", body=sdp())) == [403]
    assert final(neighbour.invite("127.0.0.1", phone.port, user="alice", body=sdp())) == [403]
    assert final(stranger.invite("127.0.0.1", phone.lan_port, user="lan", body=sdp())) == [403]
    # Our Contact without its key, or with a wrong one, is no better.
    keyless = re.sub(r";rinstance=[0-9a-f]+", "", phone.contact)
    assert keyless != phone.contact, phone.contact
    wrong = re.sub(r"rinstance=[0-9a-f]+", "rinstance=0123456789abcdef01234567", phone.contact)
    for uri in (keyless, wrong):
        assert final(stranger.invite("127.0.0.1", phone.port, body=sdp(), uri=uri)) == [403]
    # A Replaces naming no dialog of ours is no key either.
    assert final(stranger.invite("127.0.0.1", phone.port, user="alice", body=sdp(),
                                 extra=("Replaces: nosuch@127.0.0.1;to-tag=1;from-tag=2",))) == [403]
    # Outside a dialog, OPTIONS is answered; REFER is refused and places no call.
    assert stranger.request("OPTIONS", "127.0.0.1", phone.port, user="alice").status == 200
    refer = stranger.request("REFER", "127.0.0.1", phone.port, user="alice",
                             extra=(f"Refer-To: <sip:victim@127.0.0.1:{free_port()}>",))
    assert refer is not None and refer.status == 403

    time.sleep(0.3)
    assert d.manager_prop("Calls") == []
    assert added.calls() == []
    assert history(d) == []
    log = d.output()
    assert re.search(r"Account alice: INVITE from sip:tester@127\.0\.0\.2:\d+ \(sent from 127\.0\.0\.2:\d+\) "
                     r"refused \(403\)", log), log[-3000:]
    assert f"(sent from 127.0.0.1:{neighbour.port}) refused (403)" in log
    assert "Account alice: REFER outside a call from 127.0.0.2" in log
    assert log.count("Account lan: no registrar or outbound proxy to take calls from: incoming calls "
                     "will be refused") == 1

    # Through the registrar, the same stranger's call rings.
    before = phone.k.mark()
    responses = stranger.invite("127.0.0.1", phone.k.udp_port, user="alice", body=sdp(), timeout=0.5)
    assert 180 in [r.status for r in responses], responses
    ring_and_cancel(phone, stranger)
    # The Request-URI above is the Contact the registrar holds, key and all.
    # Without the key, the registrar's address alone will do: Kamailio's
    # user carol calls the phone's address itself, and Kamailio relays it.
    caller = Sipp(harness, "uac-invite-auth.xml", remote=phone.k, service="alice", name="carol",
                  keys={"user": "carol", "password": "carolpw", "domain": f"127.0.0.1:{phone.port}"},
                  args=["-d", "100"])
    call = incoming(d)
    assert d.get(call, CALL, "RemoteUri").startswith("sip:carol@")
    answer(d, call)
    assert caller.wait() == 0, caller.report()
    assert wait_state(d, call, "terminated")["StateReason"] == "remote-hangup"
    # Over TCP, on the connection the account registered on.
    responses = stranger.invite("127.0.0.1", phone.k.udp_port, user="bob", body=sdp(), timeout=0.5)
    assert 180 in [r.status for r in responses], responses
    ring_and_cancel(phone, stranger)
    # So does a call straight to the Contact the registrar holds.
    responses = stranger.invite("127.0.0.1", phone.port, body=sdp(), uri=phone.contact, timeout=0.5)
    assert 180 in [r.status for r in responses], responses
    ring_and_cancel(phone, stranger)

    # A call to that Contact, answered; a stranger naming its dialog in
    # Replaces (an attended transfer) takes its place, without ringing.
    first, done = SipClient(STRANGER), {}
    t = threading.Thread(target=lambda: done.update(r=first.invite(
        "127.0.0.1", phone.port, uri=phone.contact, body=sdp(), timeout=10, hang_up=False)))
    t.start()
    old = incoming(d)
    answer(d, old)
    t.join()
    assert final(done["r"]) == [200]
    our_tag = re.search(r"tag=([^;>\s]+)", first.last["to"]).group(1)
    second = SipClient(STRANGER)
    responses = second.invite("127.0.0.1", phone.port, user="alice", body=sdp(), timeout=10, hang_up=False,
                              extra=(f"Replaces: {first.last['call_id']};to-tag={our_tag};"
                                     f"from-tag={first.last['from_tag']}",))
    assert final(responses) == [200] and 180 not in [r.status for r in responses], responses
    assert wait_state(d, old, "terminated")["StateReason"] == "transferred"
    second.bye()

    # allow-direct-calls opens the door, without touching the registration.
    d.call(d.account_path("alice"), ACCOUNT, "Update", "(a{sv})",
           ({"allow-direct-calls": GLib.Variant("b", True)},))
    assert d.ctl("account", "set", "lan", "allow-direct-calls=true").returncode == 0
    assert d.ctl("account", "show", "lan", "--json").json()["settings"]["allow-direct-calls"] is True
    responses = stranger.invite("127.0.0.1", phone.port, user="alice", body=sdp(), timeout=0.5)
    assert 180 in [r.status for r in responses], responses
    ring_and_cancel(phone, stranger)
    responses = neighbour.invite("127.0.0.1", phone.lan_port, user="lan", body=sdp(), timeout=0.5)
    assert 180 in [r.status for r in responses], responses
    ring_and_cancel(phone, neighbour)
    assert phone.k.requests("REGISTER", since=before) == []
    assert d.account("alice")["State"] == "registered"
    assert len(added.calls()) == 8
    assert len(history(d)) == 8
    added.close()

    # The option of `account add` sets it too.
    r = d.ctl("account", "add", "open", "--address", "sip:open@127.0.0.1", "--local-address", "127.0.0.1",
              "--allow-direct-calls")
    assert r.returncode == 0, r
    assert d.ctl("account", "show", "open", "--json").json()["settings"]["allow-direct-calls"] is True
    assert d.ctl("account", "show", "alice", "--json").json()["settings"]["allow-direct-calls"] is True
    assert d.output().count("incoming calls will be refused") == 1  # lan's, not open's


def test_budget_from_the_config(harness):
    """[sip] request-burst and request-rate set the budget: past it, 503
    with Retry-After, and the source's requests never reach the account."""
    d = harness.daemon("phone", config=config("pcmu", "").replace(
        "[sip]\n", "[sip]\nrequest-burst=2\nrequest-rate=1\n")).start()
    port = free_port()
    d.add_account("lan", address="sip:lan@127.0.0.1", local_address="127.0.0.1", local_port=port,
                  allow_direct_calls=True)
    d.wait_account("lan", "unregistered", "no-registrar")
    stranger = SipClient(STRANGER)
    answers = [stranger.request("OPTIONS", "127.0.0.1", port, user="lan") for _ in range(2)]
    assert [r.status for r in answers] == [200, 200]
    # Over budget: refused before anything rings.
    responses = stranger.invite("127.0.0.1", port, user="lan", body=sdp())
    assert final(responses) == [503], responses
    assert responses[-1].header("retry-after") == "5"
    assert d.manager_prop("Calls") == []
    # A token back a second later: this one rings.
    time.sleep(1.1)
    responses = stranger.invite("127.0.0.1", port, user="lan", body=sdp(), timeout=0.5)
    assert 180 in [r.status for r in responses], responses
    call = incoming(d)
    stranger.cancel()
    wait_state(d, call, "terminated")
    assert "Account lan: too many requests from 127.0.0.2:" in d.output()
    assert "(over 2 at once or 1 a second)" in d.output()


def flood(source, target, count, statuses, ahead=50):
    """count INVITEs from one socket, new Call-ID each, never ACKed (as a
    scanner sends them), as fast as the daemon answers them: at most ahead
    unanswered, so that the kernel's socket buffer, not the daemon, is not
    what drops them. Returns
    what stops the reader. statuses: Call-ID → "403", "503", or "503
    stateless" (Sofia's own, before any transaction)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    port = sock.getsockname()[1]
    stop = threading.Event()

    def read():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                data = sock.recv(65535)
            except socket.timeout:
                continue
            text = data.decode(errors="replace")
            m = re.match(r"SIP/2\.0 (\d+)", text)
            cid = re.search(r"^Call-ID: *(\S+)", text, re.M | re.I)
            if m and cid and int(m.group(1)) >= 200:
                # Sofia's own stateless 503 has no Retry-After.
                stateless = m.group(1) == "503" and not re.search(r"^Retry-After:", text, re.M | re.I)
                statuses[cid.group(1)] = m.group(1) + (" stateless" if stateless else "")
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    body = sdp().encode()
    uri = f"sip:alice@{target[0]}:{target[1]}"
    for i in range(count):
        cid = f"{uuid.uuid4()}@{source}"
        msg = (f"INVITE {uri} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {source}:{port};branch=z9hG4bK{random.getrandbits(48):x};rport\r\n"
               f"From: <sip:scanner@{source}>;tag={random.getrandbits(32):x}\r\n"
               f"To: <{uri}>\r\nCall-ID: {cid}\r\nCSeq: 1 INVITE\r\n"
               f"Contact: <sip:scanner@{source}:{port}>\r\nMax-Forwards: 70\r\n"
               f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        sock.sendto(msg, target)
        deadline = time.monotonic() + 2
        while i + 1 - len(statuses) > ahead and time.monotonic() < deadline:
            time.sleep(0.001)

    def finish():
        stop.set()
        reader.join()
        sock.close()
    return finish


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M).group(1))


def test_flood_from_one_source(harness):
    """1000 INVITEs from one stranger, as fast as the daemon answers them,
    twice. Every one is answered: 403 within the source's budget, 503 past
    it; once the daemon has answered 200 refusals (50 a second after that)
    it holds refused INVITEs unanswered for 2 s instead, and Sofia answers
    the rest itself with a stateless 503, which costs no transaction. D-Bus
    answers at once throughout, and the second flood needs no more memory
    than the first."""
    phone = Phone(harness, transaction_timeout=1)
    d = phone.d
    pid = d.process.pid
    rss = [rss_kib(pid)]
    for n in (1, 2):
        statuses = {}
        result = {}
        start = time.monotonic()
        sender = threading.Thread(target=lambda: result.update(
            finish=flood(STRANGER, ("127.0.0.1", phone.port), 1000, statuses)))
        sender.start()
        rtts = []
        seen, grew = 0, time.monotonic()
        # D-Bus during the flood and until every INVITE is answered (the
        # held ones after 2 s).
        while sender.is_alive() or (len(statuses) < 1000 and time.monotonic() - grew < 3.0):
            t0 = time.monotonic()
            assert d.manager_prop("Calls") == []
            rtts.append(time.monotonic() - t0)
            if len(statuses) > seen:
                seen, grew = len(statuses), time.monotonic()
            time.sleep(0.005)
        sent_in = grew - start
        result["finish"]()
        counts = {s: list(statuses.values()).count(s) for s in sorted(set(statuses.values()))}
        print(f"\nflood {n}: 1000 INVITEs answered {counts} within {sent_in:.2f} s; D-Bus round trips: "
              f"{len(rtts)}, worst {max(rtts) * 1000:.1f} ms")
        assert set(counts) <= {"403", "503", "503 stateless"}, counts
        assert sum(counts.values()) >= 990, counts
        # The source's budget: 20 at once, then 10 a second.
        assert counts.get("403", 0) <= 20 + 10 * sent_in + 2, counts
        # Answered by the daemon: 200 at once, then 50 a second, and the
        # held ones (at most 32); Sofia answered the rest.
        assert counts.get("403", 0) + counts.get("503", 0) <= 200 + 50 * sent_in + 32, counts
        assert counts.get("503 stateless", 0) > 0, counts
        assert max(rtts) < 1.0
        # The refused transactions run out (transaction-timeout=1).
        time.sleep(1.0)
        rss.append(rss_kib(pid))
    print(f"RSS before {rss[0]} KiB, after flood 1 {rss[1]} KiB, after flood 2 {rss[2]} KiB")
    if sanitized():
        print("RSS growth not checked: the sanitizer's quarantine holds freed memory")
    else:
        assert rss[2] - rss[1] < 2048, rss

    # Logged once, then summed up (every 10 s), not once per request.
    log = d.output()
    limited = log.count("too many requests from 127.0.0.2")
    forbidden = len(re.findall(r"INVITE from \S+ \(sent from [^)]*\) refused \(403\)", log))
    print(f"log lines: {limited} about the rate limit, {forbidden} about 403s")
    assert 1 <= limited <= 2 and forbidden <= 10, log[-3000:]
    assert d.manager_prop("Calls") == [] and history(d) == []

    # The registrar is never limited: a call through it rings now.
    caller = SipClient(STRANGER)
    responses = caller.invite("127.0.0.1", phone.k.udp_port, user="alice", body=sdp(), timeout=1.0)
    assert 180 in [r.status for r in responses], responses
    ring_and_cancel(phone, caller)
    assert len(history(d)) == 1
