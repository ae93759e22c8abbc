"""Call transfer between real dialtoned daemons through Kamailio: blind
(REFER), attended (REFER with Replaces, INVITE with Replaces), a transfer
that fails, and bad requests.

alice, bob and carol are three daemons registered at one Kamailio. Audio
after a transfer is proven: alice plays a known signal from a file, carol
records what reaches her, and the recording must contain the signal.
"""

import re
import threading
import time

import pytest
from gi.repository import GLib

from harness import Kamailio, SipClient, Sipp, free_port, sdp, wait_for
from harness import audio
from test_calls import CALL, answer, config, dial, incoming, wait_file, wait_state

USERS = {"alice": "alicepw", "bob": "bobpw", "carol": "carolpw"}


class Trio:
    def __init__(self, harness, codecs="pcmu"):
        self.k = Kamailio(harness, users=USERS)
        self.d = {}
        for user, pw in USERS.items():
            d = harness.daemon(user, config=config(codecs)).start()
            d.add_account(user, password=pw, address=f"sip:{user}@127.0.0.1",
                          registrar=self.k.uri("udp"), local_address="127.0.0.1")
            self.d[user] = d
        for user, d in self.d.items():
            d.wait_account(user, "registered")
            self.k.wait_contacts(user)
        self.a, self.b, self.c = self.d["alice"], self.d["bob"], self.d["carol"]


def connect(caller, callee, uri, caller_opts=None, callee_opts=None):
    """caller dials uri, callee answers: (caller's call, callee's call)."""
    out = dial(caller, uri, **(caller_opts or {}))
    inc = incoming(callee)
    answer(callee, inc, **(callee_opts or {}))
    wait_state(caller, out, "active")
    wait_state(callee, inc, "active")
    return out, inc


def wait_transfer(daemon, path, wanted, timeout=15):
    def reached():
        return daemon.get(path, CALL, "TransferState") == wanted
    wait_for(reached, daemon.harness.timeout(timeout), interval=0.05,
             what=f"{path} TransferState {wanted}")


def other_calls(daemon, known):
    return [p for p in daemon.manager_prop("Calls") if p not in known]


def test_blind_transfer_connects_the_caller_to_the_target(harness, tmp_path):
    t = Trio(harness)
    sent = audio.make_test_signal(tmp_path / "sent.wav", 8000, seconds=4)
    received = tmp_path / "carol.wav"

    a_b, b_a = connect(t.a, t.b, "sip:bob@127.0.0.1", caller_opts={"audio_source": f"file:{sent}"})
    assert t.b.get(b_a, CALL, "TransferState") == "none"

    # bob sends alice on to carol, through the CLI.
    r = t.b.ctl("transfer", b_a, "sip:carol@127.0.0.1")
    assert r.returncode == 0, r

    # alice places the new call herself, as a Call of her own.
    c_a = incoming(t.c)
    assert t.c.get(c_a, CALL, "RemoteUri") == "sip:alice@127.0.0.1"
    assert t.b.get(b_a, CALL, "TransferState") in ("trying", "accepted")
    answer(t.c, c_a, audio_sink=f"file:{received}")

    end_b = wait_state(t.b, b_a, "terminated")
    assert end_b["StateReason"] == "transferred"
    assert end_b["TransferState"] == "succeeded" and end_b["TransferStatus"] == 200
    assert wait_state(t.a, a_b, "terminated")["StateReason"] == "transferred"
    a_c = [p for p in t.a.manager_prop("Calls") if p != a_b]
    assert len(a_c) == 1
    props = wait_state(t.a, a_c[0], "active")
    assert props["RemoteUri"] == "sip:carol@127.0.0.1" and props["Direction"] == "outgoing"
    # The new call kept alice's audio source.
    assert props["Media"]["audio-source"] == f"file:{sent}"

    time.sleep(4.5)
    t.c.call(c_a, CALL, "Hangup")
    wait_state(t.a, a_c[0], "terminated")
    wait_file(received)
    assert audio.contains_signal(sent, received, min_correlation=0.9)
    # Both of alice's calls are in her history.
    r = t.a.ctl("--json", "history")
    assert len(r.json()) == 2


def test_attended_transfer_replaces_the_consultation_call(harness, tmp_path):
    t = Trio(harness)
    sent = audio.make_test_signal(tmp_path / "sent.wav", 8000, seconds=4)
    received = tmp_path / "carol.wav"

    a_b, b_a = connect(t.a, t.b, "sip:bob@127.0.0.1", caller_opts={"audio_source": f"file:{sent}"})
    b_c, c_b = connect(t.b, t.c, "sip:carol@127.0.0.1", callee_opts={"audio_sink": f"file:{received}"})

    t.b.call(b_a, CALL, "TransferToCall", "(o)", (b_c,))
    wait_transfer(t.b, b_a, "succeeded")
    assert wait_state(t.b, b_a, "terminated")["StateReason"] == "transferred"
    assert wait_state(t.b, b_c, "terminated")["StateReason"] == "transferred"
    # carol's call with bob was replaced by one with alice, never ringing.
    assert wait_state(t.c, c_b, "terminated")["StateReason"] == "transferred"
    c_a = other_calls(t.c, [c_b])
    assert len(c_a) == 1
    props = wait_state(t.c, c_a[0], "active")
    assert props["RemoteUri"] == "sip:alice@127.0.0.1"
    assert wait_state(t.a, a_b, "terminated")["StateReason"] == "transferred"
    a_c = other_calls(t.a, [a_b])
    assert len(a_c) == 1
    wait_state(t.a, a_c[0], "active")

    # A replacing call takes the replaced one's sound devices, not its
    # file (two recordings into one WAV would corrupt it): record it.
    assert props["Media"]["audio-sink"] != f"file:{received}"
    recorded = tmp_path / "carol-with-alice.wav"
    t.c.call(c_a[0], CALL, "StartRecording", "(sa{sv})", (str(recorded), {}))
    time.sleep(4.5)
    t.a.call(a_c[0], CALL, "Hangup")
    assert wait_state(t.c, c_a[0], "terminated")["StateReason"] == "remote-hangup"
    wait_file(recorded)
    assert audio.contains_signal(sent, recorded, min_correlation=0.9)


def test_failed_transfer_leaves_the_call_up(harness, tmp_path):
    t = Trio(harness)
    a_b, b_a = connect(t.a, t.b, "sip:bob@127.0.0.1")

    # carol refuses the transferred call: alice reports 486 to bob.
    t.b.call(b_a, CALL, "Transfer", "(s)", ("sip:carol@127.0.0.1",))
    c_a = incoming(t.c)
    t.c.call(c_a, CALL, "Reject", "(u)", (486,))
    wait_transfer(t.b, b_a, "failed")
    assert t.b.get(b_a, CALL, "TransferStatus") == 486
    # Nobody at all: Kamailio answers 404.
    t.b.call(b_a, CALL, "Transfer", "(s)", ("sip:nobody@127.0.0.1",))
    wait_for(lambda: t.b.get(b_a, CALL, "TransferStatus") == 404, harness.timeout(10),
             what="the 404 to reach bob")
    assert t.b.get(b_a, CALL, "TransferState") == "failed"
    assert t.b.get(b_a, CALL, "State") == "active"
    assert t.a.get(a_b, CALL, "State") == "active"
    t.b.call(b_a, CALL, "Hangup")
    assert wait_state(t.a, a_b, "terminated")["StateReason"] == "remote-hangup"


def test_transfer_refuses_bad_requests(harness):
    t = Trio(harness)
    a_b = dial(t.a, "sip:bob@127.0.0.1")
    b_a = incoming(t.b)

    def error_of(daemon, path, method, sig, args):
        with pytest.raises(GLib.Error) as e:
            daemon.call(path, CALL, method, sig, args)
        return str(e.value)

    # Ringing, not answered.
    assert "Error.InvalidState" in error_of(t.b, b_a, "Transfer", "(s)", ("sip:carol@127.0.0.1",))
    answer(t.b, b_a)
    wait_state(t.a, a_b, "active")
    # The callee's call turns active at the ACK, just after the caller's.
    wait_state(t.b, b_a, "active")
    assert "Error.InvalidArguments" in error_of(t.b, b_a, "Transfer", "(s)", ("not a uri",))
    assert "Error.NotFound" in error_of(t.b, b_a, "TransferToCall", "(o)",
                                        ("/org/dialtone/Phone1/Call/99",))
    assert "Error.InvalidState" in error_of(t.b, b_a, "TransferToCall", "(o)", (b_a,))
    r = t.b.ctl("transfer", b_a, "--to-call", "42")
    assert r.returncode == 3, r
    r = t.b.ctl("transfer", b_a)
    assert r.returncode == 2, r
    r = t.b.ctl("transfer", b_a, "http://example.org/")
    assert r.returncode == 2 and "InvalidArguments" in r.stderr, r
    # The call carries on, untouched.
    assert t.b.get(b_a, CALL, "State") == "active"
    assert t.b.get(b_a, CALL, "TransferState") == "none"
    t.a.call(a_b, CALL, "Hangup")
    wait_state(t.b, b_a, "terminated")


def test_invite_with_replaces_from_a_raw_client(harness):
    """RFC 3891 from a peer that is not dialtoned: a Replaces naming our
    dialog takes its place at once; one naming nothing of ours gets 481."""
    b = harness.daemon("b", config=config("pcmu")).start()
    port = free_port()
    b.add_account("lan", address="sip:b@127.0.0.1", local_address="127.0.0.1", local_port=port,
                  allow_direct_calls=True)
    b.wait_account("lan", "unregistered", "no-registrar")

    first = SipClient()
    done = {}
    t = threading.Thread(target=lambda: done.update(r=first.invite(
        "127.0.0.1", port, user="b", body=sdp(), timeout=harness.timeout(10), hang_up=False)))
    t.start()
    old = incoming(b)
    answer(b, old)
    t.join()
    assert done["r"][-1].status == 200
    # RFC 3891: to-tag is the recipient's own tag, from-tag the other end's.
    our_tag = re.search(r"tag=([^;>\s]+)", first.last["to"]).group(1)

    stranger = SipClient()
    r = stranger.invite("127.0.0.1", port, user="b", body=sdp(),
                        extra=("Replaces: nosuch@127.0.0.1;to-tag=1;from-tag=2",))
    assert r[-1].status == 481

    second = SipClient()
    r = second.invite("127.0.0.1", port, user="b", body=sdp(), timeout=harness.timeout(10),
                      extra=(f"Replaces: {first.last['call_id']};to-tag={our_tag};"
                             f"from-tag={first.last['from_tag']}",), hang_up=False)
    assert r[-1].status == 200, [x.status for x in r]
    assert not any(x.status == 180 for x in r)
    assert wait_state(b, old, "terminated")["StateReason"] == "transferred"
    new = [p for p in b.manager_prop("Calls") if p != old]
    assert len(new) == 1 and wait_state(b, new[0], "active")["Direction"] == "incoming"
    second.bye()


def test_incoming_refer_from_sipp(harness, tmp_path):
    """sipp calls us, then refers us to a second sipp that answers: we place
    that call and report it back in NOTIFYs sipp checks (message/sipfrag,
    up to a 2xx), then our first call ends as transferred."""
    d = harness.daemon("phone", config=config("pcmu")).start()
    port = free_port()
    d.add_account("lan", address="sip:phone@127.0.0.1", local_address="127.0.0.1", local_port=port,
                  allow_direct_calls=True)
    d.wait_account("lan", "unregistered", "no-registrar")
    target = Sipp.uas(harness, "uas-answer.xml", name="target", calls=1)
    referrer = Sipp(harness, "uac-refer.xml", remote=f"127.0.0.1:{port}", service="phone", timeout=40,
                    keys={"target": target.uri("carol")})
    first = incoming(d)
    answer(d, first)
    wait_state(d, first, "active")
    assert wait_state(d, first, "terminated", timeout=20)["StateReason"] == "transferred"
    assert referrer.wait() == 0, referrer.report()
    calls = [p for p in d.manager_prop("Calls") if p != first]
    assert len(calls) == 1
    second = d.get_all(calls[0], CALL)
    assert second["Direction"] == "outgoing" and "carol@" in second["RemoteUri"]
    assert second["State"] in ("active", "terminated")
    notifies = referrer.requests("NOTIFY")
    assert notifies and "SIP/2.0 200" in notifies[-1], referrer.report()


def test_invite_with_replaces_from_sipp(harness):
    """One sipp calls us; a second sipp sends an INVITE whose Replaces names
    that dialog: it is answered without ringing (sipp fails on a 180), and
    the first call ends as transferred with our BYE, which the first sipp
    expects."""
    from harness.sipp import header
    d = harness.daemon("phone", config=config("pcmu")).start()
    port = free_port()
    d.add_account("lan", address="sip:phone@127.0.0.1", local_address="127.0.0.1", local_port=port,
                  allow_direct_calls=True)
    d.wait_account("lan", "unregistered", "no-registrar")
    first = Sipp(harness, "uac-wait-bye.xml", remote=f"127.0.0.1:{port}", service="phone", name="first",
                 timeout=40)
    old = incoming(d)
    answer(d, old)
    wait_state(d, old, "active")
    ok = wait_for(lambda: next((m for m in first.received() if m.startswith("SIP/2.0 200")), None), 5,
                  what="the 200 at the first sipp")
    call_id = header(ok, "Call-ID")[0]
    to_tag = re.search(r";tag=([^;>\s]+)", header(ok, "To")[0]).group(1)
    from_tag = re.search(r";tag=([^;>\s]+)", header(ok, "From")[0]).group(1)
    second = Sipp(harness, "uac-replaces.xml", remote=f"127.0.0.1:{port}", service="phone", name="second",
                  timeout=30, keys={"replaces_call_id": call_id, "replaces_to_tag": to_tag,
                                    "replaces_from_tag": from_tag})
    assert wait_state(d, old, "terminated")["StateReason"] == "transferred"
    assert first.wait() == 0, first.report()
    assert second.wait() == 0, second.report()
    new = [p for p in d.manager_prop("Calls") if p != old]
    assert len(new) == 1 and d.get(new[0], CALL, "Direction") == "incoming"
